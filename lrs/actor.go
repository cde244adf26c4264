package lrs

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/reach-london/reach/internal/errs"
)

// Actor is an xAPI Agent or Group (xAPI 1.0.3 §4.1.2, IEEE 9274.1.1
// §5.2.2.2). An Agent has exactly one inverse functional identifier (IFI):
// mbox, mbox_sha1sum, openid or account. A Group is anonymous (no IFI, a
// member list) or identified (one IFI, members optional).
type Actor struct {
	ObjectType  string   `json:"objectType,omitempty"`
	Name        string   `json:"name,omitempty"`
	Mbox        string   `json:"mbox,omitempty"`
	MboxSHA1Sum string   `json:"mbox_sha1sum,omitempty"`
	OpenID      string   `json:"openid,omitempty"`
	Account     *Account `json:"account,omitempty"`
	Member      []Actor  `json:"member,omitempty"`
}

// Account is an Agent's account on some system, identified by the
// system's home page and the name (usually an id) used there.
type Account struct {
	HomePage string `json:"homePage"`
	Name     string `json:"name"`
}

// IsGroup reports whether a is a Group.
func (a Actor) IsGroup() bool { return a.ObjectType == "Group" }

// IsIdentified reports whether a carries an inverse functional identifier.
func (a Actor) IsIdentified() bool { return a.Key() != "" }

// Key returns a canonical string for a's inverse functional identifier, the
// same for every JSON spelling of the same Agent (name and objectType do
// not matter), or "" for an anonymous Group. Stores index actors by it.
func (a Actor) Key() string {
	switch {
	case a.Mbox != "":
		return "mbox:" + strings.ToLower(a.Mbox)
	case a.MboxSHA1Sum != "":
		return "sha1:" + strings.ToLower(a.MboxSHA1Sum)
	case a.OpenID != "":
		return "openid:" + a.OpenID
	case a.Account != nil:
		// The home page is query-escaped so it contains no ":" and the
		// key cannot be ambiguous whatever the account name holds.
		return "account:" + url.QueryEscape(a.Account.HomePage) + ":" + a.Account.Name
	}
	return ""
}

// IFIOnly returns a reduced to what identifies it: the objectType and IFI,
// and for an anonymous Group its members reduced likewise. This is the
// form used by the statements resource's format=ids.
func (a Actor) IFIOnly() Actor {
	out := Actor{ObjectType: a.ObjectType, Mbox: a.Mbox, MboxSHA1Sum: a.MboxSHA1Sum, OpenID: a.OpenID, Account: a.Account}
	if a.IsGroup() && !a.IsIdentified() {
		for _, m := range a.Member {
			out.Member = append(out.Member, m.IFIOnly())
		}
	}
	return out
}

// ParseActor parses and validates an Agent or Group from JSON. Errors are
// errs.Invalid with a message naming what is wrong.
func ParseActor(data []byte) (Actor, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return Actor{}, err
	}
	if err := checkText(data, v, "actor"); err != nil {
		return Actor{}, err
	}
	return actorFromJSON(v, "actor")
}

// ParseAgent parses an Agent given as a request parameter (for example the
// agent parameter of the State and Agent Profile resources): it must be a
// valid Agent, not a Group, with exactly one IFI.
func ParseAgent(data []byte) (Actor, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return Actor{}, errs.E(errs.Invalid, "agent parameter is not valid JSON")
	}
	if err := checkText(data, v, "agent"); err != nil {
		return Actor{}, err
	}
	a, err := actorFromJSON(v, "agent")
	if err != nil {
		return Actor{}, err
	}
	if a.IsGroup() {
		return Actor{}, errs.E(errs.Invalid, "agent: must be an Agent, not a Group")
	}
	return a, nil
}

// actorFromJSON validates an untyped JSON value as an Agent or Group.
func actorFromJSON(v any, path string) (Actor, error) {
	m, err := asObject(v, path)
	if err != nil {
		return Actor{}, err
	}
	var a Actor
	ot, present, err := optString(m, "objectType", path)
	if err != nil {
		return Actor{}, err
	}
	switch {
	case !present, ot == "Agent":
		a.ObjectType = ot
	case ot == "Group":
		a.ObjectType = "Group"
	default:
		return Actor{}, invalid(path+".objectType", `must be "Agent" or "Group", got %q`, ot)
	}
	allowed := []string{"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"}
	if a.IsGroup() {
		allowed = append(allowed, "member")
	}
	if err := onlyKeys(m, path, allowed...); err != nil {
		return Actor{}, err
	}
	if a.Name, _, err = optString(m, "name", path); err != nil {
		return Actor{}, err
	}
	ifis := 0
	if s, ok, err := optString(m, "mbox", path); err != nil {
		return Actor{}, err
	} else if ok {
		ifis++
		if !mailtoRE.MatchString(s) {
			return Actor{}, invalid(path+".mbox", `must be a "mailto:" IRI with an email address, got %q`, s)
		}
		a.Mbox = s
	}
	if s, ok, err := optString(m, "mbox_sha1sum", path); err != nil {
		return Actor{}, err
	} else if ok {
		ifis++
		if !sha1HexRE.MatchString(s) {
			return Actor{}, invalid(path+".mbox_sha1sum", "must be 40 hexadecimal characters (a SHA-1 of the mailto IRI)")
		}
		a.MboxSHA1Sum = s
	}
	if s, ok, err := optString(m, "openid", path); err != nil {
		return Actor{}, err
	} else if ok {
		ifis++
		if !isIRI(s) {
			return Actor{}, invalid(path+".openid", "must be an absolute URI, got %q", s)
		}
		a.OpenID = s
	}
	if av, ok := m["account"]; ok {
		ifis++
		acct, err := accountFromJSON(av, path+".account")
		if err != nil {
			return Actor{}, err
		}
		a.Account = &acct
	}
	if ifis > 1 {
		return Actor{}, invalid(path, "must have exactly one of mbox, mbox_sha1sum, openid, account; got %d", ifis)
	}
	if a.IsGroup() {
		mv, hasMembers := m["member"]
		if hasMembers {
			list, ok := mv.([]any)
			if !ok {
				return Actor{}, invalid(path+".member", "must be an array of Agents, got %s", typeName(mv))
			}
			for i, item := range list {
				mp := path + ".member[" + strconv.Itoa(i) + "]"
				member, err := actorFromJSON(item, mp)
				if err != nil {
					return Actor{}, err
				}
				if member.IsGroup() {
					return Actor{}, invalid(mp, "a Group's members must be Agents, not Groups")
				}
				a.Member = append(a.Member, member)
			}
		}
		if ifis == 0 && !hasMembers {
			return Actor{}, invalid(path, "an anonymous Group (no mbox, mbox_sha1sum, openid or account) must have a member list")
		}
		if ifis == 0 && len(a.Member) == 0 {
			return Actor{}, invalid(path+".member", "an anonymous Group must have at least one member")
		}
		return a, nil
	}
	if ifis == 0 {
		return Actor{}, invalid(path, "an Agent must have exactly one of mbox, mbox_sha1sum, openid, account")
	}
	return a, nil
}

func accountFromJSON(v any, path string) (Account, error) {
	m, err := asObject(v, path)
	if err != nil {
		return Account{}, err
	}
	if err := onlyKeys(m, path, "homePage", "name"); err != nil {
		return Account{}, err
	}
	hp, err := reqString(m, "homePage", path)
	if err != nil {
		return Account{}, err
	}
	if !isIRL(hp) {
		return Account{}, invalid(path+".homePage", "must be an absolute IRL, got %q", hp)
	}
	name, err := reqString(m, "name", path)
	if err != nil {
		return Account{}, err
	}
	return Account{HomePage: hp, Name: name}, nil
}

// Person is the Agents resource's answer: every identifier and name known
// for one person, each property an array (xAPI 1.0.3 §7.6).
type Person struct {
	ObjectType  string    `json:"objectType"`
	Name        []string  `json:"name,omitempty"`
	Mbox        []string  `json:"mbox,omitempty"`
	MboxSHA1Sum []string  `json:"mbox_sha1sum,omitempty"`
	OpenID      []string  `json:"openid,omitempty"`
	Account     []Account `json:"account,omitempty"`
}

// PersonOf returns the Person for a single known Agent.
func PersonOf(a Actor) Person {
	p := Person{ObjectType: "Person"}
	if a.Name != "" {
		p.Name = []string{a.Name}
	}
	if a.Mbox != "" {
		p.Mbox = []string{a.Mbox}
	}
	if a.MboxSHA1Sum != "" {
		p.MboxSHA1Sum = []string{a.MboxSHA1Sum}
	}
	if a.OpenID != "" {
		p.OpenID = []string{a.OpenID}
	}
	if a.Account != nil {
		p.Account = []Account{*a.Account}
	}
	return p
}

// Canonical returns a's JSON with properties in a fixed order, for storage
// and comparison.
func (a Actor) Canonical() json.RawMessage {
	b, _ := json.Marshal(a)
	return b
}
