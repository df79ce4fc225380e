/*
 * screen.h
 *	  The free-text screen's tokens and shared helpers (src/screen.c, src/screen_home.c,
 *	  src/screen_person.c).
 *
 * The text is UTF-8; every rule is about ASCII letters and digits, and a run of bytes of
 * non-ASCII characters counts as letters of a word ("Café Road" is one word, then one).
 */
#ifndef CRIMESNAP_SCREEN_H
#define CRIMESNAP_SCREEN_H

#include "postgres.h"

#define CS_UPPER(c)	((c) >= 'A' && (c) <= 'Z')
#define CS_LOWER(c)	((c) >= 'a' && (c) <= 'z')
#define CS_ALPHA(c)	(CS_UPPER(c) || CS_LOWER(c))
#define CS_DIGIT(c)	((c) >= '0' && (c) <= '9')
#define CS_ALNUM(c)	(CS_ALPHA(c) || CS_DIGIT(c))
#define CS_TOUPPER(c) (CS_LOWER(c) ? (char) ((c) - 'a' + 'A') : (char) (c))

/* A token is a maximal run of ASCII letters and digits, or of bytes of non-ASCII characters. */
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
	bool		has_upper;
	int			ntok;
	ScreenToken *tok;
} ScreenText;

static inline bool
cs_word_byte(unsigned char c)
{
	return CS_ALNUM(c) || c >= 0x80;
}

/* Does token k equal word (given in upper case), ignoring case? */
static inline bool
cs_token_is(const ScreenText *t, const ScreenToken *k, const char *word)
{
	int			n = strlen(word);

	if (k->len != n)
		return false;
	for (int i = 0; i < n; i++)
		if (CS_TOUPPER(t->s[k->start + i]) != word[i])
			return false;
	return true;
}

static inline bool
cs_token_in(const ScreenText *t, const ScreenToken *k, const char *const *words)
{
	for (int i = 0; words[i] != NULL; i++)
		if (cs_token_is(t, k, words[i]))
			return true;
	return false;
}

/* Are the bytes between tokens a and b (a before b) only spaces, 1 to 2 of them? */
static inline bool
cs_spaced(const ScreenText *t, const ScreenToken *a, const ScreenToken *b)
{
	int			from = a->start + a->len;

	if (b->start - from < 1 || b->start - from > 2)
		return false;
	for (int i = from; i < b->start; i++)
		if (t->s[i] != ' ')
			return false;
	return true;
}

/* Are the bytes between tokens a and b exactly sep, perhaps with spaces around it? */
static inline bool
cs_joined_by(const ScreenText *t, const ScreenToken *a, const ScreenToken *b, char sep)
{
	bool		seen = false;

	for (int i = a->start + a->len; i < b->start; i++)
	{
		if (t->s[i] == (unsigned char) sep && !seen)
			seen = true;
		else if (t->s[i] != ' ')
			return false;
	}
	return seen;
}

/* Does the token's text from offset off match shape, where 'L' is a letter and 'D' a digit? */
static inline bool
cs_shape_at(const ScreenText *t, const ScreenToken *k, int off, const char *shape)
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

static inline bool
cs_upper_in(unsigned char c, const char *set)
{
	return c != '\0' && strchr(set, CS_TOUPPER(c)) != NULL;
}

/* A word of letters only, at least two, starting with a capital: "Patel", "McDonald". */
static inline bool
cs_capitalised(const ScreenText *t, const ScreenToken *k)
{
	return k->ndigit == 0 && k->len >= 2 && (CS_UPPER(t->s[k->start]) || t->s[k->start] >= 0x80) &&
		(k->nalpha + k->nother == k->len);
}

/* The number a token of digits only holds (up to 9 digits), or -1. */
static inline long
cs_number(const ScreenText *t, const ScreenToken *k)
{
	long		v = 0;

	if (k->ndigit != k->len || k->len > 9)
		return -1;
	for (int i = 0; i < k->len; i++)
		v = v * 10 + (t->s[k->start + i] - '0');
	return v;
}

/* The byte before token k, or ' ' at the start. */
static inline unsigned char
cs_before(const ScreenText *t, const ScreenToken *k)
{
	return k->start > 0 ? t->s[k->start - 1] : ' ';
}

/* The byte after token k, or ' ' at the end. */
static inline unsigned char
cs_after(const ScreenText *t, const ScreenToken *k)
{
	int			e = k->start + k->len;

	return e < t->len ? t->s[e] : ' ';
}

/* Words that begin sentences or name things, never people (src/screen_person.c). */
extern bool cs_scr_common_word(const ScreenText *t, const ScreenToken *k);

/* The rules: each returns true when the text holds that kind of personal data. */
extern bool cs_scr_house_number_street(const ScreenText *t);
extern bool cs_scr_house_name(const ScreenText *t);
extern bool cs_scr_house_number(const ScreenText *t);
extern bool cs_scr_imei(const ScreenText *t);
extern bool cs_scr_ni_number(const ScreenText *t);
extern bool cs_scr_date_of_birth(const ScreenText *t);
extern bool cs_scr_titled_name(const ScreenText *t);
extern bool cs_scr_name_and_age(const ScreenText *t);

#endif							/* CRIMESNAP_SCREEN_H */
