#!/usr/bin/perl
# sql/upgrade/reemit.pl OLD_SCRIPT FRAGMENT...: the last part of an upgrade script, built by make.
#
# An upgrade fragment that changes a function restated it, and two fragments could change the
# same function; whichever came last won, and a fix made later in sql/install needed the same
# fix in every fragment.  Instead, make appends what this prints: every function, with its
# COMMENT, exactly as sql/install defines it now (CREATE FUNCTION becomes CREATE OR REPLACE
# FUNCTION), that a fragment creates or replaces, or whose definition or comment is not word
# for word the one in OLD_SCRIPT (the frozen script of the version upgraded from).  So a
# fragment carries no function body unless its own DDL or data migration needs the function
# before the end (a trigger, a view, a policy, an UPDATE that calls it); sql/install has the
# last word on every body.  test/tools/upgrade.sh checks the result against a fresh install.
use strict;
use warnings;

# Split SQL text into statements: a semicolon ends one unless it is inside a string, a
# quoted identifier, a dollar-quoted body, a comment or a BEGIN ATOMIC ... END body (where,
# as psql does, CASE ... END nests).
sub statements {
    my ($text) = @_;
    my @out;
    my $start = 0;
    my $i = 0;
    my $n = length $text;
    my $depth = 0;
    while ($i < $n) {
        my $rest = substr($text, $i, 2);
        if ($rest eq '--') {
            my $e = index($text, "\n", $i);
            $i = $e < 0 ? $n : $e + 1;
        } elsif ($rest eq '/*') {
            my $e = index($text, '*/', $i + 2);
            die "reemit.pl: unterminated comment\n" if $e < 0;
            $i = $e + 2;
        } elsif (substr($text, $i, 1) eq "'" || substr($text, $i, 1) eq '"') {
            my $q = substr($text, $i, 1);
            $i++;
            while ($i < $n) {
                if (substr($text, $i, 1) eq $q) {
                    if (substr($text, $i + 1, 1) eq $q) { $i += 2; next; }
                    last;
                }
                $i++;
            }
            $i++;
        } elsif (substr($text, $i) =~ /\A(\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$)/ && ($i == 0 || substr($text, $i - 1, 1) !~ /\w/)) {
            my $tag = $1;
            my $e = index($text, $tag, $i + length $tag);
            die "reemit.pl: unterminated $tag\n" if $e < 0;
            $i = $e + length $tag;
        } elsif (substr($text, $i) =~ /\A([A-Za-z_]\w*)/ && ($i == 0 || substr($text, $i - 1, 1) !~ /[\w\$]/)) {
            my $len = length $1;
            my $word = uc $1;
            if ($word eq 'BEGIN' && substr($text, $i) =~ /\ABEGIN\s+ATOMIC\b/i) {
                $depth++;
            } elsif ($word eq 'CASE' && $depth > 0) {
                $depth++;
            } elsif ($word eq 'END' && $depth > 0) {
                $depth--;
            }
            $i += $len;
        } elsif (substr($text, $i, 1) eq ';' && $depth == 0) {
            push @out, substr($text, $start, $i + 1 - $start);
            $i++;
            $start = $i;
        } else {
            $i++;
        }
    }
    return @out;
}

# The statement's own text, without the comments and blank lines before it.
sub strip_lead {
    my ($s) = @_;
    1 while $s =~ s/\A\s+// || $s =~ s/\A--[^\n]*\n?// || $s =~ s/\A\/\*.*?\*\///s;
    return $s;
}

my $name_re = qr/((?:crimesnap|crimesnap_api)\.[A-Za-z_][A-Za-z0-9_]*)\s*\(/;

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or die "reemit.pl: $f: $!\n";
    local $/;
    return scalar <$fh>;
}

# A definition as text to compare: CREATE OR REPLACE, otherwise exactly as written (a body
# that differs only in white space is another prosrc, which the upgrade test compares).
sub norm {
    my ($s) = @_;
    $s =~ s/\ACREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION/CREATE OR REPLACE FUNCTION/i;
    return $s;
}

my $old_script = shift @ARGV or die "usage: reemit.pl OLD_SCRIPT FRAGMENT...\n";
my %old;
for my $s (statements(slurp($old_script))) {
    $s = strip_lead($s);
    $old{norm($s)} = 1 if $s =~ /\A(?:CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION|COMMENT\s+ON\s+FUNCTION)\s+$name_re/i;
}

my %wanted;
for my $f (@ARGV) {
    for my $s (statements(slurp($f))) {
        $s = strip_lead($s);
        $wanted{lc $1} = 1 if $s =~ /\ACREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+$name_re/i;
    }
}

my @install = sort glob('sql/install/*.sql');
die "reemit.pl: no sql/install/*.sql here\n" unless @install;
my @stmts = map { strip_lead($_) } map { statements(slurp($_)) } @install;
for my $s (@stmts) {
    $wanted{lc $1} = 1
        if $s =~ /\A(?:CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION|COMMENT\s+ON\s+FUNCTION)\s+$name_re/i && !$old{norm($s)};
}
my (@out, %found);
for my $s (@stmts) {
    if ($s =~ /\ACREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+$name_re/i && $wanted{lc $1}) {
        $found{lc $1} = 1;
        $s =~ s/\ACREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION/CREATE OR REPLACE FUNCTION/i;
        push @out, $s;
    } elsif ($s =~ /\ACOMMENT\s+ON\s+FUNCTION\s+$name_re/i && $wanted{lc $1}) {
        push @out, $s;
    }
}

print "-- ==== every function the fragments above create or replace, or that changed since $old_script, as sql/install defines it ====\n";
print "-- (generated by sql/upgrade/reemit.pl; ", scalar(keys %found), " functions)\n\n";
print join("\n\n", @out), "\n";
