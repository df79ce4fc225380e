/*
 * screen.c
 *	  Context screening: does a force's free-text context look like it holds personal data?
 *
 * The CrimeMapper FAQ (question 5) says context is displayed "as-is, without undergoing
 * sanitisation", so this screen is the only safeguard between a force's free text and the
 * public.  A row whose context trips it is rejected at load, with the kind of data found,
 * and the force corrects and resubmits it.
 *
 * The screen looks for five kinds of personal data: an email address, a full UK postcode,
 * a UK phone number, a vehicle registration, and a house number followed by a street.
 * It is a hand-written scanner rather than a set of regular expressions so that each rule
 * can carry the exceptions that keep ordinary police wording out: "Part of a series",
 * dates (12/06/2019, 01 06 2019), times (14:30, 5pm), amounts (£1,500), road numbers (A40,
 * M25, B1234), ordinals (1st, 3rd) and collar numbers ("PC12 and PC34").  Every rule errs
 * towards rejecting: a false positive costs the force one corrected row, a false negative
 * publishes someone's address.
 *
 * What it does not catch, by design (see docs/loading.md): names of people, dateless
 * ("cherished") registrations such as "A 40" or "1 ABC", which cannot be told from road
 * numbers, and addresses written without a street type ("14 Acacia").
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "crimesnap.h"

PG_FUNCTION_INFO_V1(crimesnap_screen_context);

/* ASCII character classes: context is UTF-8, and every rule here is about ASCII. */
#define CS_UPPER(c)	((c) >= 'A' && (c) <= 'Z')
#define CS_LOWER(c)	((c) >= 'a' && (c) <= 'z')
#define CS_ALPHA(c)	(CS_UPPER(c) || CS_LOWER(c))
#define CS_DIGIT(c)	((c) >= '0' && (c) <= '9')
#define CS_ALNUM(c)	(CS_ALPHA(c) || CS_DIGIT(c))
#define CS_TOUPPER(c) (CS_LOWER(c) ? (char) ((c) - 'a' + 'A') : (char) (c))

/*
 * A token is a maximal run of ASCII letters and digits, or of bytes of a multi-byte
 * UTF-8 character (which count as letters of a word: "Café Road" is one word, then one).
 */
typedef struct ScreenToken
{
	int			start;
	int			len;
	int			nalpha;			/* ASCII letters */
	int			ndigit;
	int			nother;			/* bytes of non-ASCII characters */
} ScreenToken;

typedef struct ScreenText
{
	const unsigned char *s;
	int			len;
	bool		mixed_case;		/* has both upper- and lower-case letters */
	int			ntok;
	ScreenToken *tok;
} ScreenText;

static bool
word_byte(unsigned char c)
{
	return CS_ALNUM(c) || c >= 0x80;
}

static void
screen_tokenise(ScreenText *t, const char *s, int len)
{
	bool		upper = false;
	bool		lower = false;
	int			i = 0;

	t->s = (const unsigned char *) s;
	t->len = len;
	t->ntok = 0;
	t->tok = palloc(sizeof(ScreenToken) * (len / 2 + 1));

	while (i < len)
	{
		ScreenToken *k;

		if (!word_byte(t->s[i]))
		{
			i++;
			continue;
		}
		k = &t->tok[t->ntok++];
		k->start = i;
		k->nalpha = k->ndigit = k->nother = 0;
		while (i < len && word_byte(t->s[i]))
		{
			unsigned char c = t->s[i];

			if (CS_ALPHA(c))
			{
				k->nalpha++;
				upper |= CS_UPPER(c);
				lower |= CS_LOWER(c);
			}
			else if (CS_DIGIT(c))
				k->ndigit++;
			else
				k->nother++;
			i++;
		}
		k->len = i - k->start;
	}
	t->mixed_case = upper && lower;
}

/* Does token k equal word (given in upper case), ignoring case? */
static bool
token_is(const ScreenText *t, const ScreenToken *k, const char *word)
{
	int			n = strlen(word);

	if (k->len != n)
		return false;
	for (int i = 0; i < n; i++)
		if (CS_TOUPPER(t->s[k->start + i]) != word[i])
			return false;
	return true;
}

static bool
token_in(const ScreenText *t, const ScreenToken *k, const char *const *words)
{
	for (int i = 0; words[i] != NULL; i++)
		if (token_is(t, k, words[i]))
			return true;
	return false;
}

/* Are the bytes between tokens a and b (a before b) only spaces, 1 to 2 of them? */
static bool
spaced(const ScreenText *t, const ScreenToken *a, const ScreenToken *b)
{
	int			from = a->start + a->len;

	if (b->start - from < 1 || b->start - from > 2)
		return false;
	for (int i = from; i < b->start; i++)
		if (t->s[i] != ' ')
			return false;
	return true;
}

/* Does the token's text from offset off match shape, where 'L' is a letter and 'D' a digit? */
static bool
shape_at(const ScreenText *t, const ScreenToken *k, int off, const char *shape)
{
	int			n = strlen(shape);

	if (off + n > k->len)
		return false;
	for (int i = 0; i < n; i++)
	{
		unsigned char c = t->s[k->start + off + i];

		if (shape[i] == 'L' ? !CS_ALPHA(c) : !CS_DIGIT(c))
			return false;
	}
	return true;
}

static bool
upper_in(unsigned char c, const char *set)
{
	return c != '\0' && strchr(set, CS_TOUPPER(c)) != NULL;
}

/* ---- email addresses ---- */

static bool
email_local_byte(unsigned char c)
{
	return CS_ALNUM(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static bool
has_email(const ScreenText *t)
{
	for (int at = 1; at < t->len - 3; at++)
	{
		int			end;
		int			dot = -1;

		if (t->s[at] != '@' || !email_local_byte(t->s[at - 1]))
			continue;
		/* the domain: labels of letters, digits and hyphens, separated by dots */
		end = at + 1;
		while (end < t->len && (CS_ALNUM(t->s[end]) || t->s[end] == '-' || t->s[end] == '.'))
			end++;
		while (end > at + 1 && t->s[end - 1] == '.')
			end--;
		for (int i = at + 1; i < end; i++)
			if (t->s[i] == '.')
				dot = i;
		if (dot > at + 1 && end - dot - 1 >= 2)
		{
			bool		tld_letters = true;

			for (int i = dot + 1; i < end; i++)
				tld_letters &= CS_ALPHA(t->s[i]);
			if (tld_letters)
				return true;
		}
	}
	return false;
}

/* ---- postcodes ---- */

/*
 * The outward code of a UK postcode (Royal Mail's rules): A9, A99, AA9, AA99, A9A, AA9A.
 * The first letter is never Q, V or X; a second letter is never I, J or Z.
 */
static bool
postcode_outward(const ScreenText *t, const ScreenToken *k, int off, int n)
{
	const unsigned char *p = t->s + k->start + off;

	if (!CS_ALPHA(p[0]) || upper_in(p[0], "QVX"))
		return false;
	switch (n)
	{
		case 2:
			return shape_at(t, k, off, "LD");
		case 3:
			return shape_at(t, k, off, "LDD") ||
				(shape_at(t, k, off, "LLD") && !upper_in(p[1], "IJZ")) ||
				(shape_at(t, k, off, "LDL") && upper_in(p[2], "ABCDEFGHJKPSTUW"));
		case 4:
			return (shape_at(t, k, off, "LLDD") && !upper_in(p[1], "IJZ")) ||
				(shape_at(t, k, off, "LLDL") && !upper_in(p[1], "IJZ") &&
				 upper_in(p[3], "ABEHMNPRVWXY"));
		default:
			return false;
	}
}

/*
 * The inward code: a digit and two letters, never C, I, K, M, O or V, which keeps "5PM"
 * and "9AM" out.  A lower-case ordinal ("1st", "2nd", "3rd", "4th") is not a postcode.
 */
static bool
postcode_inward(const ScreenText *t, const ScreenToken *k, int off)
{
	const unsigned char *p = t->s + k->start + off;

	if (!shape_at(t, k, off, "DLL") || upper_in(p[1], "CIKMOV") || upper_in(p[2], "CIKMOV"))
		return false;
	if (CS_LOWER(p[1]) && CS_LOWER(p[2]))
	{
		char		a = p[1],
					b = p[2];

		if ((a == 's' && b == 't') || (a == 'n' && b == 'd') ||
			(a == 'r' && b == 'd') || (a == 't' && b == 'h'))
			return false;
	}
	return true;
}

static bool
has_postcode(const ScreenText *t)
{
	for (int i = 0; i < t->ntok; i++)
	{
		const ScreenToken *k = &t->tok[i];

		if (k->nother > 0)
			continue;
		/* written as one word: "W1T4JE" */
		if (k->len >= 5 && k->len <= 7 &&
			postcode_outward(t, k, 0, k->len - 3) && postcode_inward(t, k, k->len - 3))
			return true;
		/* written as two: "W1T 4JE", and the special case "GIR 0AA" */
		if (i + 1 < t->ntok && k->len >= 2 && k->len <= 4 && t->tok[i + 1].len == 3 &&
			spaced(t, k, &t->tok[i + 1]) && postcode_inward(t, &t->tok[i + 1], 0) &&
			(postcode_outward(t, k, 0, k->len) ||
			 (token_is(t, k, "GIR") && token_is(t, &t->tok[i + 1], "0AA"))))
			return true;
	}
	return false;
}

/* ---- phone numbers ---- */

/*
 * A phone number is a run of digit groups joined by single spaces or hyphens, perhaps with
 * the area code in brackets: "07700 900123", "(020) 7946 0000", "+44 (0)20 7946 0000".
 * UK numbers have 10 or 11 digits and start 01, 02, 03, 05, 07, 08 or 09; international
 * ones start with + or 00.  Dates (01/06/2019), times (14:30) and amounts (£1,500) break
 * the run at their '/', ':' or ',' and stay far below ten digits.
 */
static bool
has_phone(const ScreenText *t)
{
	for (int i = 0; i < t->len; i++)
	{
		unsigned char c = t->s[i];
		unsigned char prev = i > 0 ? t->s[i - 1] : ' ';
		bool		plus = false;
		int			p = i;
		int			ndigits = 0;
		char		first = 0,
					second = 0;

		if (!(c == '+' || c == '(' || CS_DIGIT(c)))
			continue;
		if (word_byte(prev) || prev == '.' || prev == ',' || prev == '/' || prev == '+' ||
			prev == '(' || prev == '-')
			continue;
		if (c == '+')
		{
			plus = true;
			p++;
		}
		for (;;)
		{
			bool		bracket = false;
			int			group = 0;

			if (p < t->len && t->s[p] == '(')
			{
				bracket = true;
				p++;
			}
			while (p < t->len && CS_DIGIT(t->s[p]))
			{
				if (ndigits == 0)
					first = t->s[p];
				else if (ndigits == 1)
					second = t->s[p];
				ndigits++;
				group++;
				p++;
			}
			if (group == 0)
				break;
			if (bracket)
			{
				if (p < t->len && t->s[p] == ')')
					p++;
				else
					break;
				/* "(0)20": the next group may follow the bracket directly */
				if (p < t->len && CS_DIGIT(t->s[p]))
					continue;
			}
			/* another group follows a single space or hyphen */
			if (p + 1 < t->len && (t->s[p] == ' ' || t->s[p] == '-') &&
				(CS_DIGIT(t->s[p + 1]) || t->s[p + 1] == '('))
				p++;
			else
				break;
		}
		/* the run must end at a word boundary: "0123456789abc" is an identifier, not a phone */
		if (p < t->len && (word_byte(t->s[p]) || t->s[p] == '/' || t->s[p] == ':'))
			continue;
		if (plus && ndigits >= 10 && ndigits <= 15)
			return true;
		if (!plus && first == '0' && second == '0' && ndigits >= 12 && ndigits <= 17)
			return true;
		if (!plus && first == '0' && second != 0 && strchr("1235789", second) != NULL &&
			(ndigits == 10 || ndigits == 11))
			return true;
	}
	return false;
}

/* ---- vehicle registrations ---- */

/*
 * Three-letter words and abbreviations that follow a road number or a collar number in
 * police writing, and must not be taken for the letters of a registration: "A40 AND",
 * "PC12 and", "M25 JCT".
 */
static const char *const plate_stopwords[] = {
	"AGE", "AGO", "ALL", "AND", "ANY", "APP", "ARE", "BOY", "BUS", "BUT", "CAN", "CAR",
	"DAY", "DID", "FOR", "GET", "HAD", "HAS", "HER", "HIM", "HIS", "HOW", "HRS", "ITS",
	"JCT", "KPH", "LET", "MAN", "MIN", "MPH", "NEW", "NOT", "NOW", "OFF", "OLD", "ONE",
	"OUR", "OUT", "PUT", "RBT", "SAW", "SAY", "SEE", "SHE", "THE", "TOO", "TWO", "USE",
	"VAN", "VIA", "WAS", "WAY", "WHO", "YES", "YOU", "YRS",
	NULL
};

static bool
all_upper(const ScreenText *t, const ScreenToken *k, int off, int n)
{
	for (int i = off; i < off + n; i++)
		if (CS_LOWER(t->s[k->start + i]))
			return false;
	return true;
}

static bool
no_letter_of(const ScreenText *t, const ScreenToken *k, int off, int n, const char *set)
{
	for (int i = off; i < off + n; i++)
		if (CS_ALPHA(t->s[k->start + i]) && upper_in(t->s[k->start + i], set))
			return false;
	return true;
}

/* Is the three-letter group at (k, off) a stop word? */
static bool
plate_stopword(const ScreenText *t, const ScreenToken *k, int off)
{
	char		w[4];

	for (int i = 0; i < 3; i++)
		w[i] = CS_TOUPPER(t->s[k->start + off + i]);
	w[3] = '\0';
	for (int i = 0; plate_stopwords[i] != NULL; i++)
		if (strcmp(w, plate_stopwords[i]) == 0)
			return true;
	return false;
}

/*
 * Current format (2001 on): two letters, a two-digit age identifier (01-29 or 50-79 covers
 * every issue to 2029), three letters; I and Q are never used, nor Z before the digits.
 * Any case, since "ab12 cde" is no English word.
 */
static bool
current_plate(const ScreenText *t, const ScreenToken *a, int aoff, const ScreenToken *b, int boff)
{
	const unsigned char *d = t->s + a->start + aoff + 2;
	int			age;

	if (!shape_at(t, a, aoff, "LLDD") || !shape_at(t, b, boff, "LLL"))
		return false;
	age = (d[0] - '0') * 10 + (d[1] - '0');
	if (!((age >= 1 && age <= 29) || (age >= 50 && age <= 79)))
		return false;
	return no_letter_of(t, a, aoff, 2, "IQZ") && no_letter_of(t, b, boff, 3, "IQ") &&
		!plate_stopword(t, b, boff);
}

/* Prefix format (1983-2001): a year letter, 1-3 digits, three letters; written in capitals. */
static bool
prefix_plate(const ScreenText *t, const ScreenToken *a, int alen, const ScreenToken *b, int boff)
{
	if (alen < 2 || alen > 4 || !CS_UPPER(t->s[a->start]) || upper_in(t->s[a->start], "IOQUZ"))
		return false;
	for (int i = 1; i < alen; i++)
		if (!CS_DIGIT(t->s[a->start + i]))
			return false;
	return shape_at(t, b, boff, "LLL") && all_upper(t, b, boff, 3) &&
		no_letter_of(t, b, boff, 3, "IQ") && !plate_stopword(t, b, boff);
}

/* Suffix format (1963-1983): three letters, 1-3 digits, a year letter; in capitals. */
static bool
suffix_plate(const ScreenText *t, const ScreenToken *a, const ScreenToken *b, int boff, int blen)
{
	unsigned char last;

	if (!shape_at(t, a, 0, "LLL") || !all_upper(t, a, 0, 3) || plate_stopword(t, a, 0) ||
		!no_letter_of(t, a, 0, 3, "IQ") || blen < 2 || blen > 4)
		return false;
	for (int i = 0; i < blen - 1; i++)
		if (!CS_DIGIT(t->s[b->start + boff + i]))
			return false;
	last = t->s[b->start + boff + blen - 1];
	return CS_UPPER(last) && !upper_in(last, "IOQUZ");
}

static bool
has_vehicle_registration(const ScreenText *t)
{
	for (int i = 0; i < t->ntok; i++)
	{
		const ScreenToken *k = &t->tok[i];
		const ScreenToken *n = (i + 1 < t->ntok && spaced(t, k, &t->tok[i + 1])) ? &t->tok[i + 1] : NULL;

		if (k->nother > 0)
			continue;
		/* one word: "AB12CDE", "A123BCD", "ABC123D" */
		if (k->len == 7 && current_plate(t, k, 0, k, 4))
			return true;
		if (k->len >= 5 && k->len <= 7 && k->nalpha == 4 && prefix_plate(t, k, k->len - 3, k, k->len - 3))
			return true;
		if (k->len >= 5 && k->len <= 7 && k->nalpha == 4 && suffix_plate(t, k, k, 3, k->len - 3))
			return true;
		/* two words: "AB12 CDE", "A123 BCD", "ABC 123D" */
		if (n != NULL && n->nother == 0)
		{
			if (k->len == 4 && n->len == 3 && current_plate(t, k, 0, n, 0))
				return true;
			if (n->len == 3 && prefix_plate(t, k, k->len, n, 0))
				return true;
			if (k->len == 3 && suffix_plate(t, k, n, 0, n->len))
				return true;
		}
	}
	return false;
}

/* ---- house number and street ---- */

/* Street types, as written in full or abbreviated in addresses. */
static const char *const street_types[] = {
	"ALLEY", "APPROACH", "AVE", "AVENUE", "BOULEVARD", "BUILDINGS", "CIRCUS", "CL", "CLOSE",
	"COURT", "CRES", "CRESCENT", "CT", "DR", "DRIVE", "EMBANKMENT", "GARDENS", "GATE",
	"GDNS", "GREEN", "GROVE", "HILL", "LANE", "LN", "MEWS", "PARADE", "PARK", "PASSAGE",
	"PDE", "PL", "PLACE", "RD", "RISE", "ROAD", "ROW", "SQ", "SQUARE", "ST", "STREET",
	"TCE", "TERRACE", "VALE", "VIEW", "WALK", "WAY", "WHARF", "YARD",
	NULL
};

/*
 * Words that sit between a number and a street type in ordinary sentences ("2 males ran
 * down the road", "3 minutes walk", "4 cars in the street") but never inside a street
 * name.  "The" is allowed when capitalised in mixed-case text ("14 The Avenue").
 */
static const char *const not_name_words[] = {
	"A", "ABOUT", "ACROSS", "ALONG", "AN", "AND", "AROUND", "AT", "BEHIND", "BY", "CARS",
	"DAYS", "DOWN", "FEMALES", "FROM", "HOURS", "IN", "INTO", "IS", "ITEMS", "LEFT", "MALES",
	"MEN", "METRES", "METERS", "MILES", "MINS", "MINUTES", "MONTHS", "NEAR", "OF", "OFF",
	"ON", "ONTO", "OPPOSITE", "OR", "OUTSIDE", "OVER", "PAST", "PEOPLE", "PERSONS", "RAN",
	"ROUND", "SEEN", "SUSPECTS", "THE", "THROUGH", "TIMES", "TO", "TOWARD", "TOWARDS",
	"UNDER", "UP", "VEHICLES", "VIA", "WALKED", "WAS", "WEEKS", "WENT", "WERE", "WITH",
	"WOMEN", "YEARS", "YOUTHS",
	NULL
};

/* A house number: 1-4 digits, perhaps a letter ("14a"), perhaps a range ("12-14"). */
static bool
house_number(const ScreenText *t, int i, int *next)
{
	const ScreenToken *k = &t->tok[i];
	unsigned char before = k->start > 0 ? t->s[k->start - 1] : ' ';
	int			end;

	if (k->nother > 0 || k->ndigit < 1 || k->ndigit > 4 || k->nalpha > 1 ||
		!CS_DIGIT(t->s[k->start]) || (k->nalpha == 1 && !CS_ALPHA(t->s[k->start + k->len - 1])))
		return false;
	/* amounts, times, dates, decimals and references are not house numbers */
	if (!(before == ' ' || before == '(' || before == ',' || before == '\t' || before == '\n'))
		return false;
	if (k->start >= 2 && (t->s[k->start - 2] == ':' || t->s[k->start - 2] == '/'))
		return false;
	end = k->start + k->len;
	*next = i + 1;
	if (end < t->len && t->s[end] == '-' && i + 1 < t->ntok &&
		t->tok[i + 1].start == end + 1 && t->tok[i + 1].nalpha == 0 && t->tok[i + 1].ndigit <= 4)
	{
		end = t->tok[i + 1].start + t->tok[i + 1].len;
		*next = i + 2;
	}
	/* followed by a space, or a comma and a space: "14 Acacia", "14, Acacia" */
	if (end < t->len && t->s[end] == ',')
		end++;
	return end < t->len && t->s[end] == ' ';
}

static bool
name_word(const ScreenText *t, const ScreenToken *k)
{
	if (k->ndigit > 0 || k->len < 2)
		return false;
	if (t->mixed_case)
	{
		if (!CS_UPPER(t->s[k->start]) && t->s[k->start] < 0x80)
			return false;
		if (token_is(t, k, "THE"))
			return true;
	}
	return !token_in(t, k, not_name_words);
}

/* A word glued to the one before by an apostrophe belongs to it: "John's". */
static bool
apostrophe_tail(const ScreenText *t, const ScreenToken *k)
{
	int			b = k->start;

	return (b >= 1 && t->s[b - 1] == '\'') ||
		(b >= 3 && t->s[b - 3] == 0xE2 && t->s[b - 2] == 0x80 && t->s[b - 1] == 0x99);
}

static bool
has_house_number_street(const ScreenText *t)
{
	for (int i = 0; i < t->ntok; i++)
	{
		int			j;
		int			words = 0;

		if (!house_number(t, i, &j))
			continue;
		/* one to three name words, then a street type */
		for (; j < t->ntok; j++)
		{
			const ScreenToken *k = &t->tok[j];

			if (apostrophe_tail(t, k))
				continue;
			if (words >= 1 && token_in(t, k, street_types))
				return true;
			if (words == 3 || !name_word(t, k))
				break;
			words++;
		}
	}
	return false;
}

/*
 * cs_screen_context: the kind of personal data the text seems to hold, or NULL.
 */
const char *
cs_screen_context(const char *text, int len)
{
	ScreenText	t;
	const char *kind = NULL;

	screen_tokenise(&t, text, len);
	if (has_email(&t))
		kind = "email address";
	else if (has_postcode(&t))
		kind = "postcode";
	else if (has_phone(&t))
		kind = "phone number";
	else if (has_vehicle_registration(&t))
		kind = "vehicle registration";
	else if (has_house_number_street(&t))
		kind = "house number and street";
	pfree(t.tok);
	return kind;
}

/* screen_context(text) returns text: the kind of personal data found, or NULL */
Datum
crimesnap_screen_context(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	const char *kind = cs_screen_context(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in));

	if (kind == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(kind));
}
