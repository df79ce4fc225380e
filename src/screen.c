/*
 * screen.c
 *	  The free-text screen: does a force's context look like it holds personal data?
 *
 * A context is published only once a person of the force approved that exact text (section
 * 45); this screen tells the reviewer what it finds, and a flagged text cannot be approved
 * without an explicit override reason.  It is a hand-written scanner rather than a set of
 * regular expressions so that each rule can carry the exceptions that keep ordinary police
 * wording out: "Part of Operation Nightfall", outcome phrases, dates of incidents, times,
 * amounts, counts, road numbers (A40, M25), collar numbers (PC12), shop and road names.
 *
 * The rules, in the order they are tried (the first that fires names the kind):
 *   here:               email address, postcode, IMEI (screen_person.c), phone number,
 *                       National Insurance number (screen_person.c), vehicle registration;
 *   screen_person.c:    date of birth, name with a title, name with an age;
 *   screen_home.c:      house number and street, house name, house number.
 * docs/loading.md lists what each catches and the recall and false positive rate measured on
 * the labelled set in test/pgtap/screen.sql.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "crimesnap.h"
#include "screen.h"

PG_FUNCTION_INFO_V1(crimesnap_screen_context);

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

		if (!cs_word_byte(t->s[i]))
		{
			i++;
			continue;
		}
		k = &t->tok[t->ntok++];
		k->start = i;
		k->nalpha = k->ndigit = k->nother = 0;
		while (i < len && cs_word_byte(t->s[i]))
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
	t->has_upper = upper;
}

/* ---- email addresses ---- */

static bool
email_local_byte(unsigned char c)
{
	return CS_ALNUM(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

/* "jo.bloggs [at] example [dot] com", "jo (at) example.com": an address written to dodge filters */
static bool
has_spelt_email(const ScreenText *t)
{
	for (int i = 1; i + 2 < t->ntok; i++)
	{
		const ScreenToken *k = &t->tok[i];
		int			b = k->start - 1;
		int			e = k->start + k->len;

		if (!cs_token_is(t, k, "AT") || b < 0 || e >= t->len)
			continue;
		if ((t->s[b] == '[' && t->s[e] == ']') || (t->s[b] == '(' && t->s[e] == ')'))
		{
			for (int j = i + 2; j < t->ntok && j <= i + 4; j++)
				if (cs_token_is(t, &t->tok[j], "DOT") || t->s[t->tok[j].start - 1] == '.')
					return true;
		}
	}
	return false;
}

static bool
has_email(const ScreenText *t)
{
	if (has_spelt_email(t))
		return true;

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

	if (!CS_ALPHA(p[0]) || cs_upper_in(p[0], "QVX"))
		return false;
	switch (n)
	{
		case 2:
			return cs_shape_at(t, k, off, "LD");
		case 3:
			return cs_shape_at(t, k, off, "LDD") ||
				(cs_shape_at(t, k, off, "LLD") && !cs_upper_in(p[1], "IJZ")) ||
				(cs_shape_at(t, k, off, "LDL") && cs_upper_in(p[2], "ABCDEFGHJKPSTUW"));
		case 4:
			return (cs_shape_at(t, k, off, "LLDD") && !cs_upper_in(p[1], "IJZ")) ||
				(cs_shape_at(t, k, off, "LLDL") && !cs_upper_in(p[1], "IJZ") &&
				 cs_upper_in(p[3], "ABEHMNPRVWXY"));
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

	if (!cs_shape_at(t, k, off, "DLL") || cs_upper_in(p[1], "CIKMOV") || cs_upper_in(p[2], "CIKMOV"))
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
			cs_spaced(t, k, &t->tok[i + 1]) && postcode_inward(t, &t->tok[i + 1], 0) &&
			(postcode_outward(t, k, 0, k->len) ||
			 (cs_token_is(t, k, "GIR") && cs_token_is(t, &t->tok[i + 1], "0AA"))))
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
		if (cs_word_byte(prev) || prev == '.' || prev == ',' || prev == '/' || prev == '+' ||
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
			/* another group follows a single space, hyphen or dot */
			if (p + 1 < t->len && (t->s[p] == ' ' || t->s[p] == '-' || t->s[p] == '.') &&
				(CS_DIGIT(t->s[p + 1]) || t->s[p + 1] == '('))
				p++;
			else
				break;
		}
		/* the run must end at a word boundary: "0123456789abc" is an identifier, not a phone */
		if (p < t->len && (cs_word_byte(t->s[p]) || t->s[p] == '/' || t->s[p] == ':'))
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
		if (CS_ALPHA(t->s[k->start + i]) && cs_upper_in(t->s[k->start + i], set))
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

	if (!cs_shape_at(t, a, aoff, "LLDD") || !cs_shape_at(t, b, boff, "LLL"))
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
	if (alen < 2 || alen > 4 || !CS_UPPER(t->s[a->start]) || cs_upper_in(t->s[a->start], "IOQUZ"))
		return false;
	for (int i = 1; i < alen; i++)
		if (!CS_DIGIT(t->s[a->start + i]))
			return false;
	return cs_shape_at(t, b, boff, "LLL") && all_upper(t, b, boff, 3) &&
		no_letter_of(t, b, boff, 3, "IQ") && !plate_stopword(t, b, boff);
}

/* Suffix format (1963-1983): three letters, 1-3 digits, a year letter; in capitals. */
static bool
suffix_plate(const ScreenText *t, const ScreenToken *a, const ScreenToken *b, int boff, int blen)
{
	unsigned char last;

	if (!cs_shape_at(t, a, 0, "LLL") || !all_upper(t, a, 0, 3) || plate_stopword(t, a, 0) ||
		!no_letter_of(t, a, 0, 3, "IQ") || blen < 2 || blen > 4)
		return false;
	for (int i = 0; i < blen - 1; i++)
		if (!CS_DIGIT(t->s[b->start + boff + i]))
			return false;
	last = t->s[b->start + boff + blen - 1];
	return CS_UPPER(last) && !cs_upper_in(last, "IOQUZ");
}

/*
 * Dateless ("cherished") registrations, "A 1", "ABC 123", "1 ABC", "XYZ 1234" (Northern
 * Ireland), cannot be told from road numbers on their own: they count only right after a word
 * that says a vehicle's registration follows ("reg", "plate", "VRM", "car", ...).
 */
static const char *const plate_cues[] = {
	"REG", "REGISTRATION", "REGISTERED", "VRM", "INDEX", "PLATE", "PLATES", "NUMBERPLATE",
	"CAR", "VAN", "VEHICLE", "MOTORBIKE", "MOTORCYCLE", "MOPED", "LORRY", "TAXI", NULL
};
static const char *const plate_fillers[] = {"NUMBER", "NO", "MARK", "REG", "PLATE", "IS", NULL};

static bool
dateless_plate(const ScreenText *t, const ScreenToken *a, const ScreenToken *b)
{
	int			la = 0,
				da = 0;

	if (a->nother > 0 || (b != NULL && b->nother > 0))
		return false;
	for (int i = 0; i < a->len; i++)
	{
		unsigned char c = t->s[a->start + i];

		if (CS_LOWER(c) && t->mixed_case)
			return false;
		if (CS_ALPHA(c))
		{
			if (da > 0)
				return false;	/* "AB12": letters only before digits in one word */
			la++;
		}
		else
			da++;
	}
	if (b == NULL)
		return la >= 1 && la <= 3 && da >= 1 && da <= 4 && t->s[a->start] != '0';
	/* two words: letters then digits, or digits then letters */
	if (la > 0 && da > 0)
		return false;
	if (la >= 1 && la <= 3 && b->ndigit == b->len && b->len <= 4 && t->s[b->start] != '0')
		return true;
	if (da >= 1 && da <= 4 && b->nalpha == b->len && b->len <= 3 && t->s[a->start] != '0')
	{
		for (int i = 0; i < b->len; i++)
			if (CS_LOWER(t->s[b->start + i]) && t->mixed_case)
				return false;
		return true;
	}
	return false;
}

static bool
has_dateless_plate(const ScreenText *t)
{
	for (int i = 0; i + 1 < t->ntok; i++)
	{
		int			j = i + 1;

		if (!cs_token_in(t, &t->tok[i], plate_cues))
			continue;
		while (j < t->ntok && j <= i + 2 && cs_token_in(t, &t->tok[j], plate_fillers))
			j++;
		if (j >= t->ntok)
			continue;
		if (j + 1 < t->ntok && cs_spaced(t, &t->tok[j], &t->tok[j + 1]) &&
			dateless_plate(t, &t->tok[j], &t->tok[j + 1]))
			return true;
		if (dateless_plate(t, &t->tok[j], NULL))
			return true;
	}
	return false;
}

static bool
has_vehicle_registration(const ScreenText *t)
{
	if (has_dateless_plate(t))
		return true;

	for (int i = 0; i < t->ntok; i++)
	{
		const ScreenToken *k = &t->tok[i];
		const ScreenToken *n = (i + 1 < t->ntok && cs_spaced(t, k, &t->tok[i + 1])) ? &t->tok[i + 1] : NULL;

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
	else if (cs_scr_imei(&t))
		kind = "IMEI";
	else if (has_phone(&t))
		kind = "phone number";
	else if (cs_scr_ni_number(&t))
		kind = "National Insurance number";
	else if (has_vehicle_registration(&t))
		kind = "vehicle registration";
	else if (cs_scr_date_of_birth(&t))
		kind = "date of birth";
	else if (cs_scr_house_number_street(&t))
		kind = "house number and street";
	else if (cs_scr_house_name(&t))
		kind = "house name";
	else if (cs_scr_house_number(&t))
		kind = "house number";
	else if (cs_scr_titled_name(&t))
		kind = "name";
	else if (cs_scr_name_and_age(&t))
		kind = "name and age";
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
