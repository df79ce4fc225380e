/*
 * screen_home.c
 *	  The free-text screen's rules about homes: a house number and street ("14 Acacia Road"),
 *	  a house name ("Rose Cottage", "The Old Rectory, Church Street"), and a house number
 *	  without a street ("lives alone at number 8", "Neighbour at 16a", "flat 3").
 *
 * A number must not be an amount, a time, a date, a count ("2 males"), a road ("A40"), a
 * platform, a bus route or a collar number; a capitalised word before "House" or "Farm" must
 * not be a public building's ("Town Hall", "Police House" are not homes).  See src/screen.c.
 */
#include "postgres.h"

#include "screen.h"


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
		if (cs_token_is(t, k, "THE"))
			return true;
	}
	return !cs_token_in(t, k, not_name_words);
}

/* A word glued to the one before by an apostrophe belongs to it: "John's". */
static bool
apostrophe_tail(const ScreenText *t, const ScreenToken *k)
{
	int			b = k->start;

	return (b >= 1 && t->s[b - 1] == '\'') ||
		(b >= 3 && t->s[b - 3] == 0xE2 && t->s[b - 2] == 0x80 && t->s[b - 1] == 0x99);
}

bool
cs_scr_house_number_street(const ScreenText *t)
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
			if (words >= 1 && cs_token_in(t, k, street_types))
				return true;
			if (words == 3 || !name_word(t, k))
				break;
			words++;
		}
	}
	return false;
}


/* ---- house names ---- */

/* Words that end the name of a home. */
static const char *const house_words[] = {
	"HOUSE", "COTTAGE", "COTTAGES", "FARM", "FARMHOUSE", "LODGE", "RECTORY", "VICARAGE",
	"MANOR", "GRANGE", "BARN", "MILL", "VILLA", "BUNGALOW", "CROFT", "HOMESTEAD", "PARSONAGE",
	"COACHHOUSE", "OAST", "MANSE", NULL
};

/* First words of buildings that are not anyone's home: "Public House", "Town Hall". */
static const char *const public_building_words[] = {
	"PUBLIC", "POLICE", "TOWN", "VILLAGE", "COUNCIL", "COURT", "GUEST", "COFFEE", "PIZZA",
	"STEAK", "CHOP", "OPERA", "CUSTOM", "CUSTOMS", "CLUB", "AUCTION", "BOARDING", "WARE",
	"LIGHT", "POWER", "PUMP", "WORK", "ALE", "TEA", "BAKE", "DOLLS", "TREE", "HEN", "CITY",
	"COUNTY", "MARKET", "TRADING", "SHOPPING", "COMMUNITY", "PARISH", "CHURCH", "MEETING",
	"FIRE", "AMBULANCE", "STATION", "SOMERSET", "MANSION", "BUSH", "SENATE", "PORTCULLIS",
	"BROADCASTING", "EUSTON", "CENTRE", "CENTER", "PETTICOAT", "CITY", "WIND", "WATER", "SAW",
	"OPEN", "PET", "PETTING", "THE", "A", "AN", "OF", NULL
};

/* "The Old Bailey" and "The Old Vic" are public places, not homes. */
static const char *const public_old_words[] = {"BAILEY", "VIC", "KENT", "STREET", "ROAD", NULL};

/* Is token i a street type (see street_types), so that "Mill Lane" is a street, not a home? */
static bool
street_type_at(const ScreenText *t, int i)
{
	return i < t->ntok && cs_token_in(t, &t->tok[i], street_types);
}

bool
cs_scr_house_name(const ScreenText *t)
{
	for (int i = 0; i < t->ntok; i++)
	{
		const ScreenToken *k = &t->tok[i];

		/* "Rose Cottage", "Manor Farm", "Willow Tree House"; not "Mill Lane", "Farm Road" */
		if (i >= 1 && cs_token_in(t, k, house_words) && (CS_UPPER(t->s[k->start]) || !t->mixed_case) &&
			!street_type_at(t, i + 1))
		{
			const ScreenToken *p = &t->tok[i - 1];

			if (cs_capitalised(t, p) && cs_spaced(t, p, k) &&
				!cs_token_in(t, p, public_building_words))
				return true;
		}
		/* "The Old Rectory", "The Old Forge"; not "The Old Bailey" */
		if (i + 2 < t->ntok && cs_token_is(t, k, "THE") && cs_token_is(t, &t->tok[i + 1], "OLD") &&
			CS_UPPER(t->s[t->tok[i + 1].start]) && cs_capitalised(t, &t->tok[i + 2]) &&
			cs_spaced(t, k, &t->tok[i + 1]) && cs_spaced(t, &t->tok[i + 1], &t->tok[i + 2]) &&
			!cs_token_in(t, &t->tok[i + 2], public_old_words) && !street_type_at(t, i + 3))
			return true;
		/* "The Laurels, Church Street": "The" and a name, a comma, then a street */
		if (i + 3 < t->ntok && cs_token_is(t, k, "THE") && CS_UPPER(t->s[k->start]))
		{
			int			j = i + 1;

			while (j < t->ntok && j <= i + 3 && cs_capitalised(t, &t->tok[j]) && !cs_joined_by(t, &t->tok[j - 1], &t->tok[j], ','))
				j++;
			if (j > i + 1 && j < t->ntok && cs_joined_by(t, &t->tok[j - 1], &t->tok[j], ',') &&
				!street_type_at(t, j - 1))
			{
				for (int m = j; m < t->ntok && m <= j + 3; m++)
				{
					if (m > j && street_type_at(t, m))
						return true;
					if (!cs_capitalised(t, &t->tok[m]))
						break;
				}
			}
		}
	}
	return false;
}

/* ---- house numbers without a street ---- */

/* Words after which a number is a home's: "flat 3", "number 8". */
static const char *const dwelling_words[] = {
	"FLAT", "FLATS", "APARTMENT", "APT", "MAISONETTE", "BEDSIT", "ROOM", "HOUSE",
	"NUMBER", "NO", "NOS", "PLOT", NULL
};

/* Words after which "at N" is a home: "lives at 42", "neighbour at 16". */
static const char *const home_cues[] = {
	"LIVES", "LIVE", "LIVING", "LIVED", "RESIDES", "RESIDING", "RESIDENT", "RESIDENTS",
	"NEIGHBOUR", "NEIGHBOURS", "NEIGHBOR", "NEIGHBORS", "HOME", "ADDRESS", "DOOR", "VICTIM",
	"SUSPECT", "OCCUPANT", "OCCUPANTS", "OCCUPIER", "TENANT", "STAYING", "STAYS", NULL
};

/* Words before a number-and-letter that make it a place that is not a home: "platform 4a". */
static const char *const not_home_before[] = {
	"PLATFORM", "GATE", "BAY", "STAND", "PUMP", "ROUTE", "BUS", "JUNCTION", "JCT", "TERMINAL",
	"LEVEL", "FLOOR", "SCREEN", "COURT", "PITCH", "LOCKER", "SEAT", "ZONE", "CAR", "COACH",
	"SECTION", "EXIT", "TABLE", "WARD", "A", "B", "M", NULL
};

/* Words before "number" that make it something else: "order number 4421". */
static const char *const not_home_number_of[] = {
	"ORDER", "REFERENCE", "REF", "CRIME", "CASE", "ACCOUNT", "SERIAL", "PHONE", "INCIDENT",
	"TRACKING", "FRAME", "CARD", "BADGE", "COLLAR", "WARRANT", "CUSTOMER", "POLICY", "ITEM",
	"PART", "MODEL", "LOG", "CAD", "JOB", "TICKET", "SEAT", "FLIGHT", "BUS", "ROUTE", NULL
};

/* Words after "number 12" that make it something else: "number 73 bus". */
static const char *const not_home_after[] = {
	"BUS", "BUSES", "ROUTE", "TRAIN", "TRAM", "PLATFORM", "STOP", NULL
};

/* 1-4 digits, perhaps one letter a-f ("16a"), not after a currency sign, colon or slash. */
static bool
home_number(const ScreenText *t, const ScreenToken *k, bool letter_required)
{
	unsigned char b = cs_before(t, k);
	unsigned char a = cs_after(t, k);
	int			nd = k->ndigit;

	if (k->nother > 0 || nd < 1 || nd > 4 || !CS_DIGIT(t->s[k->start]) || t->s[k->start] == '0')
		return false;
	if (k->nalpha > 1 || (letter_required && k->nalpha != 1))
		return false;
	if (k->nalpha == 1 && !(cs_upper_in(t->s[k->start + k->len - 1], "ABCDEF") && k->len == nd + 1))
		return false;
	if (b == 0xA3 || b == '$' || b == ':' || b == '/' || b == '.' || b == '-' || b == '#' ||
		(k->start >= 2 && t->s[k->start - 2] == 0xC2 && t->s[k->start - 1] == 0xA3))
		return false;
	if (a == ':' || a == '/' || (a == '.' && k->start + k->len + 1 < t->len && CS_DIGIT(t->s[k->start + k->len + 1])))
		return false;
	if (a == '-' && k->start + k->len + 1 < t->len && CS_ALPHA(t->s[k->start + k->len + 1]))
		return false;			/* "4-year-old", "3-piece" */
	return true;
}

/* Does nothing but punctuation or the end follow token i? */
static bool
ends_clause(const ScreenText *t, int i)
{
	const ScreenToken *k = &t->tok[i];
	unsigned char a = cs_after(t, k);

	if (i + 1 >= t->ntok)
		return true;
	/* "at 22 and 24": another number joins it */
	if ((cs_token_is(t, &t->tok[i + 1], "AND") || cs_token_is(t, &t->tok[i + 1], "OR")) &&
		i + 2 < t->ntok && t->tok[i + 2].ndigit > 0 && CS_DIGIT(t->s[t->tok[i + 2].start]))
		return true;
	return a == ',' || a == '.' || a == ';' || a == ')' || a == '!' || a == '?';
}

bool
cs_scr_house_number(const ScreenText *t)
{
	for (int i = 0; i < t->ntok; i++)
	{
		const ScreenToken *k = &t->tok[i];
		const ScreenToken *p = i > 0 ? &t->tok[i - 1] : NULL;

		/* "flat 3", "number 8", "No. 8", "Apartment 12b" */
		if (p != NULL && cs_token_in(t, p, dwelling_words) && home_number(t, k, false) &&
			(cs_spaced(t, p, k) || cs_joined_by(t, p, k, '.')) &&
			!(i + 1 < t->ntok && cs_token_in(t, &t->tok[i + 1], not_home_after)) &&
			!(i >= 2 && cs_token_in(t, &t->tok[i - 2], not_home_number_of)) &&
			(!cs_token_is(t, p, "NO") || CS_UPPER(t->s[p->start]) || cs_after(t, p) == '.' ||
			 (i >= 2 && cs_token_is(t, &t->tok[i - 2], "AT"))))
			return true;
		/* "Neighbour at 16a": a number with a letter, on its own */
		if (home_number(t, k, true) && !(p != NULL && cs_token_in(t, p, not_home_before)))
			return true;
		/* "lives at 42", "Victim at 23, ...": "at" and a number after a word about a home */
		if (p != NULL && i >= 2 && cs_token_is(t, p, "AT") && home_number(t, k, false) && ends_clause(t, i))
		{
			for (int j = i - 2; j >= 0 && j >= i - 4; j--)
				if (cs_token_in(t, &t->tok[j], home_cues))
					return true;
		}
		/* "lives at 14 Acacia": "at" and a number, then a name that is no common word */
		if (p != NULL && cs_token_is(t, p, "AT") && home_number(t, k, false) && i + 1 < t->ntok &&
			cs_capitalised(t, &t->tok[i + 1]) && cs_spaced(t, k, &t->tok[i + 1]) &&
			!cs_scr_common_word(t, &t->tok[i + 1]))
			return true;
	}
	return false;
}
