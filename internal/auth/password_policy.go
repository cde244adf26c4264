package auth

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"

	"github.com/reach-london/reach/internal/errs"
)

// minPasswordGuesses is the fewest guesses zxcvbn must estimate an
// attacker needs for a chosen password. zxcvbn's lists hold the 30,000
// passwords most often found in breaches, plus common words, names and
// keyboard patterns, and it sees repeats, sequences, dates and
// l33t-speak: "password1", "passwordpassword" and "qwertyuiop12" are all
// under a million guesses. 10^8 is its "safe from throttled online
// guessing" band, which is the attack a sign-in form faces.
const minPasswordGuesses = 1e8

// zxcvbnMaxRunes bounds the part of a password the estimator reads: its
// cost grows faster than linearly with length, and a password this long
// that is guessable in its first 64 characters is guessable whole.
const zxcvbnMaxRunes = 64

// CheckPassword applies NIST SP 800-63B's rules for a password a person
// chooses: a length in characters (CheckPasswordRules), no password found
// in lists of common and breached passwords or as guessable as one, and
// none containing the account's own email address or name. There are no
// composition rules: any characters, spaces included, count. personal
// lists the account's email address and name.
func CheckPassword(password string, personal ...string) error {
	if err := CheckPasswordRules(password); err != nil {
		return errs.E(errs.Invalid, "%s", err.Error())
	}
	lower := strings.ToLower(password)
	for _, word := range personalWords(personal) {
		if strings.Contains(lower, word) {
			return errs.E(errs.Invalid, "password must not contain your name or email address")
		}
	}
	head := password
	if utf8.RuneCountInString(head) > zxcvbnMaxRunes {
		head = string([]rune(head)[:zxcvbnMaxRunes])
	}
	if r := zxcvbn.PasswordStrength(head, personal); r.Guesses < minPasswordGuesses {
		return errs.E(errs.Invalid, "password is too easy to guess: it is a common or breached password, or made from one with a simple pattern; a few unrelated words make a strong one")
	}
	return nil
}

// personalWords are the parts of an email address and name a password
// may not contain: the address, its local part and each word of the name,
// lower-cased, when at least 4 characters long (shorter ones, "Al" or
// "Ng", turn up inside too many good passwords).
func personalWords(personal []string) []string {
	var out []string
	add := func(w string) {
		w = strings.ToLower(strings.TrimSpace(w))
		if utf8.RuneCountInString(w) >= 4 {
			out = append(out, w)
		}
	}
	for _, p := range personal {
		if local, _, ok := strings.Cut(p, "@"); ok {
			add(p)
			add(local)
			continue
		}
		for _, w := range strings.FieldsFunc(p, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			add(w)
		}
	}
	return out
}
