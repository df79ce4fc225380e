/*
 * sanitise.c
 *	  Text rules: street-name normalisation for matching addresses to streets.
 *
 * Addresses and centrelines come from different sources and spell the same street
 * differently: "Gt Portland St", "GREAT PORTLAND STREET", "Great Portland Street.".
 * normalise_street_name() maps them all to one key: lower case, punctuation dropped,
 * apostrophes removed ("St John's" and "St Johns" agree), common abbreviations expanded,
 * a leading house number ("78 Harley St") and a leading "The" dropped.
 * "St" is "saint" when it starts a name followed by more words, "street" otherwise.
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "crimesnap.h"

PG_FUNCTION_INFO_V1(crimesnap_normalise_street_name);

typedef struct Abbrev
{
	const char *abbr;
	const char *full;
} Abbrev;

/* Royal Mail and OS abbreviations seen in address and street data. */
static const Abbrev abbrevs[] = {
	{"av", "avenue"}, {"ave", "avenue"}, {"bldgs", "buildings"}, {"blvd", "boulevard"},
	{"cl", "close"}, {"cres", "crescent"}, {"ct", "court"}, {"ctr", "centre"}, {"dr", "drive"},
	{"embk", "embankment"}, {"gdn", "garden"}, {"gdns", "gardens"}, {"gr", "grove"},
	{"gro", "grove"}, {"gt", "great"}, {"hwy", "highway"}, {"ln", "lane"},
	{"lwr", "lower"}, {"mt", "mount"}, {"nth", "north"}, {"pde", "parade"},
	{"pk", "park"}, {"pl", "place"}, {"rd", "road"}, {"sq", "square"},
	{"sth", "south"}, {"tce", "terrace"}, {"ter", "terrace"}, {"terr", "terrace"}, {"upr", "upper"},
	{"wy", "way"},
};

static const char *
expand(const char *tok, bool first, bool more)
{
	if (strcmp(tok, "st") == 0)
		return (first && more) ? "saint" : "street";
	for (int i = 0; i < (int) lengthof(abbrevs); i++)
		if (strcmp(tok, abbrevs[i].abbr) == 0)
			return abbrevs[i].full;
	return tok;
}

/* A house number: digits, optionally followed by one letter ("78", "12a"). */
static bool
is_house_number(const char *tok)
{
	int			i = 0;

	while (tok[i] >= '0' && tok[i] <= '9')
		i++;
	if (i == 0)
		return false;
	if (tok[i] >= 'a' && tok[i] <= 'z')
		i++;
	return tok[i] == '\0';
}

char *
cs_normalise_street_name(const char *name, int len)
{
	StringInfoData clean;
	StringInfoData out;
	char	   *tok;
	char	   *save = NULL;
	int			ntok = 0;
	int			first = 0;
	char	  **toks;

	/* Pass 1: lower-case letters and digits; apostrophes vanish; '&' is "and"; the rest split. */
	initStringInfo(&clean);
	for (int i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) name[i];

		if (c >= 'A' && c <= 'Z')
			appendStringInfoChar(&clean, (char) (c - 'A' + 'a'));
		else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			appendStringInfoChar(&clean, (char) c);
		else if (c == '\'')
			continue;
		else if (c == 0xE2 && i + 2 < len && (unsigned char) name[i + 1] == 0x80 &&
				 ((unsigned char) name[i + 2] == 0x98 || (unsigned char) name[i + 2] == 0x99))
			i += 2;				/* U+2018/U+2019, typographic apostrophes */
		else if (c == '&')
			appendStringInfoString(&clean, " and ");
		else if (c >= 0x80)
			appendStringInfoChar(&clean, (char) c);	/* keep other UTF-8 as it is */
		else
			appendStringInfoChar(&clean, ' ');
	}

	/* Pass 2: tokens, abbreviations expanded, single spaces. */
	toks = palloc(sizeof(char *) * (clean.len / 2 + 2));
	for (tok = strtok_r(clean.data, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save))
		toks[ntok++] = tok;

	/*
	 * Address data often carries the house number in the street field ("78 Harley Street",
	 * "1-3 Gower St") and sometimes a leading article ("The Brunswick Centre"): neither
	 * names the street, so both go while the name keeps at least one word after them.
	 */
	while (first + 2 < ntok && is_house_number(toks[first]))
		first++;
	if (first + 1 < ntok && strcmp(toks[first], "the") == 0)
		first++;

	initStringInfo(&out);
	for (int i = first; i < ntok; i++)
	{
		if (i > first)
			appendStringInfoChar(&out, ' ');
		appendStringInfoString(&out, expand(toks[i], i == first, i + 1 < ntok));
	}
	pfree(toks);
	pfree(clean.data);
	return out.data;
}

/* normalise_street_name(text) returns text; an empty result is NULL (no usable name). */
Datum
crimesnap_normalise_street_name(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	char	   *res = cs_normalise_street_name(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in));

	if (res[0] == '\0')
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(res));
}
