package course

import "strings"

// subst replaces {{borough}} with the borough's name in plain text.
func subst(s, borough string) string {
	return strings.ReplaceAll(s, "{{borough}}", borough)
}
