package manifest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// MaxManifestBytes is the largest manifest parsed. Real manifests are a few
// hundred kilobytes at most; the bound keeps a hostile one from using much
// memory.
const MaxManifestBytes = 8 << 20

// maxDepth bounds element nesting, so a deeply nested manifest cannot
// exhaust the stack of the recursive walkers.
const maxDepth = 64

// Error is a manifest problem, naming the file and the element or
// attribute at fault, e.g. `imsmanifest.xml: <item identifier="i2">:
// attribute identifierref "r9" names no <resource>`.
type Error struct {
	File  string // "cmi5.xml", "imsmanifest.xml" or "tincan.xml"
	Where string // the element (and attribute) at fault; empty for the whole file
	Msg   string
}

func (e *Error) Error() string {
	if e.Where == "" {
		return e.File + ": " + e.Msg
	}
	return e.File + ": " + e.Where + ": " + e.Msg
}

// node is a generic XML element: the parsers walk it instead of mapping
// the XML onto structs, so that child order survives (cmi5 interleaves
// blocks and AUs) and unknown extension elements are simply skipped.
type node struct {
	Name     xml.Name
	Attrs    []xml.Attr
	Children []*node
	Text     string
}

// parseTree reads data into a node tree, refusing oversize input and excessive nesting.
func parseTree(file string, data []byte) (*node, error) {
	if len(data) > MaxManifestBytes {
		return nil, &Error{File: file, Msg: fmt.Sprintf("larger than %d MiB", MaxManifestBytes>>20)}
	}
	// Byte-order marks are common in manifests written on Windows.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	// Manifests declare UTF-8, but some tools write encoding="ISO-8859-1"
	// or "windows-1252" for plain-ASCII files; read those bytes as Latin-1.
	dec.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return r, nil
		case "iso-8859-1", "latin1", "latin-1", "windows-1252", "cp1252":
			return latin1Reader{r}, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q", label)
	}
	var root *node
	var stack []*node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &Error{File: file, Msg: "not well-formed XML: " + strings.TrimPrefix(err.Error(), "XML syntax error ")}
		}
		switch t := tok.(type) {
		case xml.Directive:
			// A DOCTYPE is skipped: encoding/xml never fetches external
			// DTDs or expands entities they declare, so it is harmless.
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, &Error{File: file, Msg: fmt.Sprintf("elements nested deeper than %d levels", maxDepth)}
			}
			n := &node{Name: t.Name, Attrs: append([]xml.Attr(nil), t.Attr...)}
			if len(stack) == 0 {
				if root != nil {
					return nil, &Error{File: file, Msg: "more than one root element"}
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(t)
			}
		}
	}
	if root == nil {
		return nil, &Error{File: file, Msg: "no root element"}
	}
	return root, nil
}

type latin1Reader struct{ r io.Reader }

func (l latin1Reader) Read(p []byte) (int, error) {
	// Each Latin-1 byte becomes at most two UTF-8 bytes, so read half.
	buf := make([]byte, (len(p)+1)/2)
	n, err := l.r.Read(buf)
	out := p[:0]
	for _, b := range buf[:n] {
		if b < 0x80 {
			out = append(out, b)
		} else {
			out = append(out, 0xc0|b>>6, 0x80|b&0x3f)
		}
	}
	return len(out), err
}

// local is an element's or attribute's name without namespace, lower-cased,
// because authoring tools disagree on case (adlcp:scormtype / scormType).
func local(n xml.Name) string { return strings.ToLower(n.Local) }

// attr returns the attribute with the given local name (case-insensitive),
// ignoring namespace unless space is given.
func (n *node) attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if strings.EqualFold(a.Name.Local, name) {
			return a.Value, true
		}
	}
	return "", false
}

func (n *node) attrValue(name string) string {
	v, _ := n.attr(name)
	return strings.TrimSpace(v)
}

// xmlBase returns the xml:base attribute.
func (n *node) xmlBase() string {
	for _, a := range n.Attrs {
		if a.Name.Local == "base" && (a.Name.Space == "xml" || a.Name.Space == "http://www.w3.org/XML/1998/namespace") {
			return strings.TrimSpace(a.Value)
		}
	}
	return ""
}

// children returns the child elements with local name (case-insensitive).
func (n *node) children(name string) []*node {
	var out []*node
	for _, c := range n.Children {
		if local(c.Name) == name {
			out = append(out, c)
		}
	}
	return out
}

func (n *node) child(name string) *node {
	for _, c := range n.Children {
		if local(c.Name) == name {
			return c
		}
	}
	return nil
}

func (n *node) text() string { return strings.TrimSpace(n.Text) }

// parseBool reads xs:boolean.
func parseBool(v string) (bool, bool) {
	switch strings.TrimSpace(strings.ToLower(v)) {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}

func parseDecimal(v string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f != f {
		return 0, false
	}
	return f, true
}

// CleanPath turns a manifest's relative reference (href, url, launch) into
// a package path: query and fragment split off, percent-escapes decoded,
// backslashes refused, "." and ".." resolved, never leaving the package
// root. It returns the path and the suffix ("?a=b#c") to keep on the URL.
func CleanPath(ref string) (p, suffix string, err error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", "", fmt.Errorf("is empty")
	}
	if strings.Contains(ref, `\`) {
		return "", "", fmt.Errorf("contains a backslash; use /")
	}
	rawPath := ref
	if i := strings.IndexAny(ref, "?#"); i >= 0 {
		rawPath, suffix = ref[:i], ref[i:]
	}
	if strings.HasPrefix(rawPath, "/") {
		return "", "", fmt.Errorf("is an absolute path; it must be relative to the package root")
	}
	if u, perr := url.Parse(rawPath); perr == nil && u.Scheme != "" {
		return "", "", fmt.Errorf("is a URL with scheme %q, not a path inside the package", u.Scheme)
	}
	dec, uerr := url.PathUnescape(rawPath)
	if uerr != nil {
		// Some tools write literal "%" in names; keep the raw path then.
		dec = rawPath
	}
	if dec == "" {
		return "", "", fmt.Errorf("has no path")
	}
	clean := path.Clean(dec)
	if clean == ".." || strings.HasPrefix(clean, "../") || strings.HasPrefix(clean, "/") {
		return "", "", fmt.Errorf("points outside the package")
	}
	if clean == "." {
		return "", "", fmt.Errorf("names the package root, not a file")
	}
	return clean, suffix, nil
}

// joinBase resolves href against xml:base values (outermost first), as
// SCORM's resources/@xml:base and resource/@xml:base require.
func joinBase(bases []string, href string) string {
	prefix := ""
	for _, b := range bases {
		if b == "" {
			continue
		}
		if !strings.HasSuffix(b, "/") {
			b += "/"
		}
		prefix += b
	}
	return prefix + href
}

// langString picks a language string from the children of n: British
// English first, then any English, then the first one; or n's own text.
func langString(n *node, childName string) string {
	if n == nil {
		return ""
	}
	kids := n.children(childName)
	if len(kids) == 0 {
		return n.text()
	}
	pick := func(pred func(string) bool) string {
		for _, k := range kids {
			lang, _ := k.attr("lang")
			if pred(strings.ToLower(lang)) && k.text() != "" {
				return k.text()
			}
		}
		return ""
	}
	if s := pick(func(l string) bool { return l == "en-gb" }); s != "" {
		return s
	}
	if s := pick(func(l string) bool { return strings.HasPrefix(l, "en") }); s != "" {
		return s
	}
	return pick(func(string) bool { return true })
}

// where formats an element reference for errors: <au id="x">.
func where(el, attrName, attrVal string) string {
	if attrName == "" {
		return "<" + el + ">"
	}
	return fmt.Sprintf("<%s %s=%q>", el, attrName, attrVal)
}
