-- crimesnap upgrade 0.1.0 -> 0.2.0, built by make from sql/upgrade/0.1.0--0.2.0/*.sql in
-- file-name order.  Each change to sql/install/ that ships in 0.2.0 adds its fragment here,
-- so that ALTER EXTENSION crimesnap UPDATE gives the same catalogue as a fresh install.
\echo Use "ALTER EXTENSION crimesnap UPDATE TO '0.2.0'" to load this file. \quit
