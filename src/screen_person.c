/*
 * screen_person.c
 *	  The free-text screen's rules about people: names with a title ("Mrs Patel", "PC Jones"),
 *	  names with an age ("David Brown, 45", "Sarah aged 34"), dates of birth, a phone's IMEI
 *	  (15 digits passing the Luhn check) and National Insurance numbers.
 *
 * A name is a capitalised word that is not one of the words that begin sentences or name
 * things in police wording ("Victim", "Suspect", "Operation", "Street", days and months), so
 * that "Part of Operation Nightfall", "Offender given a caution" and "Tesco Express, 24 hours"
 * pass.  An incident's date passes; a full date before 2013 is taken for a date of birth.
 * See src/screen.c.
 */
#include "postgres.h"

#include "screen.h"

/* ---- words that are not names ---- */

static const char *const common_words[] = {
	"A", "AN", "THE", "THIS", "THAT", "THESE", "THOSE", "HE", "SHE", "THEY", "IT", "WE", "I",
	"YOU", "HIS", "HER", "THEIR", "ITS", "OUR", "MY", "NO", "NOT", "ONE", "TWO", "THREE",
	"FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE", "TEN", "SOME", "ALL", "ANY", "EACH",
	"BOTH", "OTHER", "ANOTHER", "ON", "IN", "AT", "BY", "TO", "FROM", "OF", "FOR", "WITH",
	"NEAR", "OUTSIDE", "INSIDE", "BETWEEN", "AFTER", "BEFORE", "DURING", "WHILE", "WHEN",
	"WHERE", "WHO", "WHAT", "WHICH", "AND", "OR", "BUT", "IF", "AS", "SO", "THEN", "ALSO",
	"VICTIM", "VICTIMS", "SUSPECT", "SUSPECTS", "OFFENDER", "OFFENDERS", "WITNESS", "WITNESSES",
	"MALE", "MALES", "FEMALE", "FEMALES", "MAN", "MEN", "WOMAN", "WOMEN", "BOY", "BOYS",
	"GIRL", "GIRLS", "YOUTH", "YOUTHS", "PERSON", "PERSONS", "PEOPLE", "CHILD", "CHILDREN",
	"TEENAGER", "TEENAGERS", "ADULT", "ADULTS", "RESIDENT", "RESIDENTS", "OWNER", "OWNERS",
	"DRIVER", "DRIVERS", "CYCLIST", "PEDESTRIAN", "CUSTOMER", "CUSTOMERS", "STAFF", "MEMBER",
	"MEMBERS", "PUBLIC", "GROUP", "GANG", "POLICE", "OFFICER", "OFFICERS", "CONSTABLE",
	"OPERATION", "PART", "SERIES", "INCIDENT", "INCIDENTS", "CRIME", "CRIMES", "OFFENCE",
	"REPORT", "REPORTED", "REPORTS", "STOLEN", "THEFT", "BURGLARY", "ROBBERY", "ASSAULT",
	"DAMAGE", "ARSON", "DRUGS", "ITEMS", "PROPERTY", "CAR", "VAN", "VEHICLE", "BIKE", "PHONE",
	"SHOP", "STORE", "STATION", "PARK", "SCHOOL", "COLLEGE", "HOSPITAL", "PUB", "BAR", "CLUB",
	"CAFE", "RESTAURANT", "MARKET", "CENTRE", "CENTER", "EXPRESS", "SUPERSTORE", "LOCAL",
	"STREET", "ROAD", "LANE", "AVENUE", "WAY", "CLOSE", "DRIVE", "PLACE", "SQUARE", "HILL",
	"GARDENS", "TERRACE", "CRESCENT", "GROVE", "COURT", "BRIDGE", "JUNCTION", "ROUNDABOUT",
	"NORTH", "SOUTH", "EAST", "WEST", "UPPER", "LOWER", "GREAT", "LITTLE", "NEW", "OLD", "HIGH",
	"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY", "JANUARY",
	"FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE", "JULY", "AUGUST", "SEPTEMBER", "OCTOBER",
	"NOVEMBER", "DECEMBER", "CHRISTMAS", "EASTER", "ENGLAND", "WALES", "BRITAIN", "UK",
	"LONDON", "CITY", "TOWN", "VILLAGE", "COUNCIL", "INVESTIGATION", "INVESTIGATIONS", "STATUS",
	"UPDATE", "UNAVAILABLE", "UNDER", "COURT", "AWAITING", "OUTCOME", "RESULT", "LOCAL",
	"RESOLUTION", "CAUTION", "CHARGED", "SUMMONSED", "ACTION", "FURTHER", "FORMAL", "UNABLE",
	"PROSECUTE", "COMPLETE", "ORDER", "NOTICE", "PENALTY", "COMMUNITY", "ABOUT", "APPROX",
	"APPROXIMATELY", "AROUND", "ARRESTED", "ARREST", "ARRESTS", "AGED", "YEARS", "SEEN", "LEFT",
	"TAKEN", "ENTERED", "ATTENDED", "ENQUIRIES", "CCTV", "NOTE", "NB", "REF", "ASB", "TOTAL",
	"BETWEEN", "SINCE", "UNTIL", "TODAY", "YESTERDAY", "TONIGHT", "MORNING", "EVENING",
	"NIGHT", "AFTERNOON", "WEEKEND", "NIGHTFALL", "TRIDENT", "SCEPTRE", "VENETIC", "FLEET",
	"PROJECT", "INITIATIVE", "CAMPAIGN", "TEAM", "UNIT", "SAFER", "NEIGHBOURHOOD", "WATCH",
	"TESCO", "SAINSBURY", "SAINSBURYS", "ASDA", "LIDL", "ALDI", "BOOTS", "COSTA", "GREGGS",
	"PRIMARK", "ARGOS", "CURRYS", "HALFORDS", "SPAR", "COOP", "CO", "OP", "WAITROSE",
	"MORRISONS", "ICELAND", "SELFRIDGES", "HARRODS", "JOHN", "LEWIS", "MARKS", "SPENCER",
	"OXFORD", "REGENT", "TOTTENHAM", "CAMDEN", "EUSTON", "KINGS", "CROSS", "VICTORIA",
	"PICCADILLY", "WATERLOO", "PADDINGTON", "SOHO", "FITZROVIA", "MAYFAIR", "HOLBORN", NULL
};

bool
cs_scr_common_word(const ScreenText *t, const ScreenToken *k)
{
	return cs_token_in(t, k, common_words);
}

/* A word that reads as a person's name: capitalised and not a common word. */
static bool
name_like(const ScreenText *t, const ScreenToken *k)
{
	if (!cs_capitalised(t, k) || cs_scr_common_word(t, k))
		return false;
	/* in text written in capitals every word is capitalised: only the rules with a cue apply */
	return t->mixed_case;
}

/* ---- IMEI ---- */

/* Luhn check of n digits. */
static bool
luhn_ok(const char *d, int n)
{
	int			sum = 0;

	for (int i = 0; i < n; i++)
	{
		int			v = d[n - 1 - i] - '0';

		if (i % 2 == 1)
		{
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return sum % 10 == 0;
}

/*
 * A run of digit groups joined by single spaces, hyphens or slashes: "352099001761481",
 * "35-209900-176148-1", "35 209900 176148 1".  Fifteen digits passing the Luhn check are an
 * IMEI; 14 to 17 digits are one too right after the word IMEI.
 */
bool
cs_scr_imei(const ScreenText *t)
{
	for (int i = 0; i < t->ntok; i++)
	{
		char		d[20];
		int			n = 0;
		int			j = i;
		bool		cue = i > 0 && (cs_token_is(t, &t->tok[i - 1], "IMEI") ||
									(i > 1 && cs_token_is(t, &t->tok[i - 2], "IMEI")));

		if (t->tok[i].ndigit != t->tok[i].len || (i > 0 && cs_after(t, &t->tok[i - 1]) != ' ' &&
												  cs_after(t, &t->tok[i - 1]) != ':' && t->tok[i - 1].start + t->tok[i - 1].len == t->tok[i].start - 1 &&
												  CS_DIGIT(t->s[t->tok[i - 1].start + t->tok[i - 1].len - 1])))
			continue;
		for (; j < t->ntok && t->tok[j].ndigit == t->tok[j].len && n + t->tok[j].len <= 17; j++)
		{
			memcpy(d + n, t->s + t->tok[j].start, t->tok[j].len);
			n += t->tok[j].len;
			if (j + 1 >= t->ntok || t->tok[j + 1].start - (t->tok[j].start + t->tok[j].len) != 1)
			{
				j++;
				break;
			}
			{
				unsigned char sep = t->s[t->tok[j].start + t->tok[j].len];

				if (sep != ' ' && sep != '-' && sep != '/')
				{
					j++;
					break;
				}
			}
		}
		if ((n == 15 && luhn_ok(d, n)) || (cue && n >= 14 && n <= 17))
			return true;
	}
	return false;
}

/* ---- National Insurance numbers ---- */

/*
 * Two letters, six digits (perhaps in pairs), and a letter A-D: "AB 12 34 56 C",
 * "ab123456c".  The first letter is never D, F, I, U or V, the second never D, F, I, O, U or
 * V; BG, GB, KN, NK, NT, TN and ZZ are never issued.  Without its final letter it counts only
 * after the words "NI", "NINO" or "insurance".
 */
bool
cs_scr_ni_number(const ScreenText *t)
{
	for (int i = 0; i < t->ntok; i++)
	{
		const ScreenToken *k = &t->tok[i];
		char		p[3];
		int			digits = 0;
		int			j = i;
		int			off;
		bool		suffix = false;
		bool		cue = false;

		if (k->nother > 0 || k->len < 2 || !CS_ALPHA(t->s[k->start]) || !CS_ALPHA(t->s[k->start + 1]))
			continue;
		if (k->len != 2 && !(k->nalpha >= 2 && CS_DIGIT(t->s[k->start + 2])))
			continue;
		p[0] = CS_TOUPPER(t->s[k->start]);
		p[1] = CS_TOUPPER(t->s[k->start + 1]);
		p[2] = '\0';
		if (strchr("DFIUV", p[0]) || strchr("DFIOUV", p[1]) || strstr("BG GB KN NK NT TN ZZ", p) != NULL)
			continue;
		/* the digits: in this token after the letters, then in following tokens */
		off = 2;
		while (j < t->ntok && digits < 6)
		{
			const ScreenToken *x = &t->tok[j];

			while (off < x->len && CS_DIGIT(t->s[x->start + off]) && digits < 6)
			{
				off++;
				digits++;
			}
			if (off < x->len)
				break;			/* a letter: the suffix, or not an NI number */
			if (digits == 6 || j + 1 >= t->ntok || !cs_spaced(t, x, &t->tok[j + 1]) ||
				t->tok[j + 1].ndigit == 0)
				break;
			j++;
			off = 0;
		}
		if (digits != 6)
			continue;
		/* the suffix letter, glued on or after a space */
		if (off < t->tok[j].len)
			suffix = t->tok[j].len - off == 1 && cs_upper_in(t->s[t->tok[j].start + off], "ABCD");
		else if (off == t->tok[j].len && j + 1 < t->ntok && t->tok[j + 1].len == 1 &&
				 cs_spaced(t, &t->tok[j], &t->tok[j + 1]) && cs_upper_in(t->s[t->tok[j + 1].start], "ABCD"))
			suffix = true;
		else if (off < t->tok[j].len)
			continue;
		for (int c = i - 1; c >= 0 && c >= i - 3; c--)
			cue |= cs_token_is(t, &t->tok[c], "NI") || cs_token_is(t, &t->tok[c], "NINO") ||
				cs_token_is(t, &t->tok[c], "INSURANCE");
		if (suffix || cue)
			return true;
	}
	return false;
}

/* ---- dates of birth ---- */

static const char *const month_names[] = {
	"JAN", "JANUARY", "FEB", "FEBRUARY", "MAR", "MARCH", "APR", "APRIL", "MAY", "JUN", "JUNE",
	"JUL", "JULY", "AUG", "AUGUST", "SEP", "SEPT", "SEPTEMBER", "OCT", "OCTOBER", "NOV",
	"NOVEMBER", "DEC", "DECEMBER", NULL
};

/* A day of the month: "12", "1st", "22nd", "3rd", "14th". */
static bool
day_token(const ScreenText *t, const ScreenToken *k)
{
	long		v;
	int			nd = k->ndigit;

	if (nd < 1 || nd > 2 || !CS_DIGIT(t->s[k->start]))
		return false;
	if (k->len == nd)
		v = cs_number(t, k);
	else if (k->len == nd + 2 && k->nalpha == 2)
	{
		char		a = CS_TOUPPER(t->s[k->start + nd]),
					b = CS_TOUPPER(t->s[k->start + nd + 1]);

		if (!((a == 'S' && b == 'T') || (a == 'N' && b == 'D') || (a == 'R' && b == 'D') || (a == 'T' && b == 'H')))
			return false;
		v = (t->s[k->start] - '0') * (nd == 2 ? 10 : 1) + (nd == 2 ? t->s[k->start + 1] - '0' : 0);
	}
	else
		return false;
	return v >= 1 && v <= 31;
}

/*
 * A date starting at token i: "12/03/1985", "12-03-85", "12.3.1985", "1985-03-12",
 * "12 March 1985", "12th Mar 85", "March 12, 1985".  Sets *year (-1 when it has none, two
 * digits as written) and returns the number of tokens, or 0.
 */
static int
date_at(const ScreenText *t, int i, long *year)
{
	const ScreenToken *a = &t->tok[i];
	const ScreenToken *b = i + 1 < t->ntok ? &t->tok[i + 1] : NULL;
	const ScreenToken *c = i + 2 < t->ntok ? &t->tok[i + 2] : NULL;

	*year = -1;
	if (b == NULL)
		return 0;
	/* numeric, with one kind of separator */
	if (a->ndigit == a->len && b->ndigit == b->len && c != NULL && c->ndigit == c->len)
	{
		char		sep = t->s[a->start + a->len];

		if ((sep == '/' || sep == '-' || sep == '.') && b->start == a->start + a->len + 1 &&
			t->s[b->start + b->len] == (unsigned char) sep && c->start == b->start + b->len + 1)
		{
			long		x = cs_number(t, a),
						y = cs_number(t, b),
						z = cs_number(t, c);

			if (a->len == 4 && y >= 1 && y <= 12 && z >= 1 && z <= 31)
			{
				*year = x;
				return 3;
			}
			if (a->len <= 2 && b->len <= 2 && (c->len == 2 || c->len == 4) && x >= 1 && x <= 31 && y >= 1 && y <= 12)
			{
				*year = z;
				return 3;
			}
		}
		return 0;
	}
	/* "12 March 1985", "12th Mar 85" */
	if (day_token(t, a) && cs_token_in(t, b, month_names) && cs_spaced(t, a, b))
	{
		if (c != NULL && c->ndigit == c->len && (c->len == 4 || c->len == 2) && cs_spaced(t, b, c))
		{
			*year = cs_number(t, c);
			return 3;
		}
		return 2;
	}
	/* "March 12, 1985" */
	if (cs_token_in(t, a, month_names) && day_token(t, b) && cs_spaced(t, a, b))
	{
		if (c != NULL && c->ndigit == c->len && c->len == 4)
		{
			*year = cs_number(t, c);
			return 3;
		}
		return 2;
	}
	return 0;
}

bool
cs_scr_date_of_birth(const ScreenText *t)
{
	for (int i = 0; i < t->ntok; i++)
	{
		const ScreenToken *k = &t->tok[i];
		long		year;
		int			n;

		/* "DOB", "D.O.B.", "date of birth" and "born" are cues: a date or a year soon after */
		if (cs_token_is(t, k, "DOB") ||
			(i + 2 < t->ntok && cs_token_is(t, k, "D") && cs_token_is(t, &t->tok[i + 1], "O") &&
			 cs_token_is(t, &t->tok[i + 2], "B")) ||
			(i + 2 < t->ntok && cs_token_is(t, k, "DATE") && cs_token_is(t, &t->tok[i + 1], "OF") &&
			 cs_token_is(t, &t->tok[i + 2], "BIRTH")) ||
			cs_token_is(t, k, "BORN") || cs_token_is(t, k, "BIRTHDATE"))
		{
			for (int j = i + 1; j < t->ntok && j <= i + 5; j++)
			{
				const ScreenToken *x = &t->tok[j];

				if (date_at(t, j, &year) > 0)
					return true;
				if (x->ndigit == x->len && x->len == 4 && cs_number(t, x) >= 1900 && cs_number(t, x) <= 2030)
					return true;
			}
		}
		/* a full date long before any crime published: nobody reports one from 2012 or earlier */
		n = date_at(t, i, &year);
		if (n > 0 && year >= 1900 && year <= 2012)
			return true;
	}
	return false;
}

/* ---- names ---- */

static const char *const titles[] = {
	"MR", "MRS", "MS", "MISS", "MX", "DR", "PC", "DC", "PS", "DS", "DI", "DCI", "DCS", "WPC",
	"SPC", "PCSO", "SGT", "INSP", "DET", "SUPT", "CH", "SIR", "DAME", "LADY", "LORD", "REV",
	"REVD", "REVEREND", "CANON", "PASTOR", "PROF", "PROFESSOR", "CLLR", "COUNCILLOR", "MASTER",
	"SERGEANT", "INSPECTOR", "DETECTIVE", "CONSTABLE", NULL
};

/* Titles that are ordinary words or abbreviations when not written as titles. */
static const char *const weak_titles[] = {"MISS", "MASTER", "LADY", "LORD", "SIR", "DAME", "CH", "DI", "PS", "DS", "DC", "PC", "DR", "DET", NULL};

/* What follows a title but is no one's name: "PC World", "DC Comics". */
static const char *const not_after_title[] = {
	"WORLD", "COMICS", "SPECIALIST", "GAMES", "REPAIRS", "SHOP", "STORE", "TOWER", "LAPTOP", NULL
};

bool
cs_scr_titled_name(const ScreenText *t)
{
	for (int i = 0; i + 1 < t->ntok; i++)
	{
		const ScreenToken *k = &t->tok[i];
		const ScreenToken *n = &t->tok[i + 1];
		bool		weak;

		if (k->ndigit > 0 || !cs_token_in(t, k, titles))
			continue;
		/* "Mrs Patel", "Mr. Smith", "PC 1234 Jones": the name follows a space or a full stop */
		if (!(cs_spaced(t, k, n) || cs_joined_by(t, k, n, '.')))
			continue;
		if (n->ndigit == n->len && i + 2 < t->ntok && cs_spaced(t, n, &t->tok[i + 2]))
			n = &t->tok[i + 2];	/* a collar number between rank and name */
		/* "O'Brien", "D'Souza": a capital and an apostrophe start a name too */
		if (n->len == 1 && CS_UPPER(t->s[n->start]) && cs_after(t, n) == '\'' &&
			n->start + 2 < t->len && CS_UPPER(t->s[n->start + 2]))
			return true;
		if (n->ndigit > 0 || n->len < 2 || cs_token_in(t, n, not_after_title))
			continue;
		weak = cs_token_in(t, k, weak_titles);
		if (t->mixed_case)
		{
			/* a title is written capitalised, the name too */
			if (!CS_UPPER(t->s[k->start]) || !cs_capitalised(t, n) || cs_scr_common_word(t, n))
				continue;
			/* two-letter ranks are capitals: "PC Jones", never "Pc Jones" */
			if (k->len == 2 && weak && CS_LOWER(t->s[k->start + 1]) && !cs_token_is(t, k, "DR") && !cs_token_is(t, k, "MR") && !cs_token_is(t, k, "MS"))
				continue;
			return true;
		}
		/* all capitals or all lower case: only the unmistakable titles, then no common word */
		if (!weak && !cs_scr_common_word(t, n) && n->nalpha == n->len)
			return true;
	}
	return false;
}

/* Words that may follow an age: "David Brown, 45, of no fixed abode", "Sarah (34) was". */
static const char *const after_age[] = {
	"OF", "FROM", "WHO", "WAS", "IS", "AND", "HAS", "HAD", "YEARS", "YRS", "YO", "YEAR",
	"WERE", "WILL", "SUFFERED", "RECEIVED", NULL
};

/* Is token i a plausible age (1-110) that ends its phrase or is followed by an age word? */
static bool
age_at(const ScreenText *t, int i)
{
	const ScreenToken *k = &t->tok[i];
	long		v = cs_number(t, k);
	unsigned char a = cs_after(t, k);

	if (v < 1 || v > 110 || k->len > 3)
		return false;
	if (i + 1 >= t->ntok)
		return true;
	if (a == ':' || a == '/' || (a == '.' && CS_DIGIT(t->s[k->start + k->len + 1])))
		return false;
	if (a == ',' || a == ')' || a == '.' || a == ';')
		return true;
	if (a == '-' || a == ' ')
		return cs_token_in(t, &t->tok[i + 1], after_age);
	return false;
}

bool
cs_scr_name_and_age(const ScreenText *t)
{
	for (int i = 0; i < t->ntok; i++)
	{
		const ScreenToken *k = &t->tok[i];

		/* "David Brown, 45" and "Sarah Jones (34)": a name, then the age */
		if (i + 1 < t->ntok && name_like(t, k) && t->tok[i + 1].ndigit == t->tok[i + 1].len &&
			(cs_joined_by(t, k, &t->tok[i + 1], ',') || cs_joined_by(t, k, &t->tok[i + 1], '(')) &&
			age_at(t, i + 1))
			return true;
		/* "a boy named Callum", "a man called Dave" */
		if (i + 1 < t->ntok && (cs_token_is(t, k, "NAMED") || cs_token_is(t, k, "CALLED") ||
								cs_token_is(t, k, "NAMES")) &&
			cs_capitalised(t, &t->tok[i + 1]) && !cs_scr_common_word(t, &t->tok[i + 1]))
			return true;
		/* "aged 45", "age 45", "45-year-old", "45 years old", "45yo" near a name */
		{
			bool		age = false;

			if ((cs_token_is(t, k, "AGED") || cs_token_is(t, k, "AGE")) && i + 1 < t->ntok &&
				cs_number(t, &t->tok[i + 1]) >= 1 && cs_number(t, &t->tok[i + 1]) <= 110)
				age = true;
			else if (cs_number(t, k) >= 1 && cs_number(t, k) <= 110 && i + 1 < t->ntok &&
					 (cs_token_is(t, &t->tok[i + 1], "YEAR") || cs_token_is(t, &t->tok[i + 1], "YEARS") ||
					  cs_token_is(t, &t->tok[i + 1], "YRS")) &&
					 i + 2 < t->ntok && cs_token_is(t, &t->tok[i + 2], "OLD"))
				age = true;
			else if (k->ndigit >= 1 && k->ndigit <= 3 && k->len == k->ndigit + 2 &&
					 cs_shape_at(t, k, 0, k->ndigit == 1 ? "D" : (k->ndigit == 2 ? "DD" : "DDD")) &&
					 CS_TOUPPER(t->s[k->start + k->ndigit]) == 'Y' && CS_TOUPPER(t->s[k->start + k->ndigit + 1]) == 'O')
				age = true;
			if (!age)
				continue;
			for (int j = i - 1; j >= 0 && j >= i - 4; j--)
				if (name_like(t, &t->tok[j]))
					return true;
			for (int j = i + 1; j < t->ntok && j <= i + 3; j++)
				if (name_like(t, &t->tok[j]) && !(j == i + 1))
					return true;
		}
	}
	return false;
}
