package course

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strings"
)

// MaxImageBytes is the largest image the builder accepts: diagrams are
// drawn as small SVGs, and a page must stay quick on a phone.
const MaxImageBytes = 100 << 10

// figure is a :::figure block's picture, its text alternatives, and the
// file's bytes.
type figure struct {
	file    string // name inside the module's images folder
	alt     string // short text alternative, required
	caption string // optional visible caption
	data    []byte
}

var figureName = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*\.(svg|png|jpe?g)$`)

// parseFigureHead reads the "alt:" and "caption:" lines that open a
// :::figure block and leaves the long description as the block's body.
func parseFigureHead(b *block, file string, pr *problems) {
	f := &figure{file: b.arg}
	b.figure = f
	if !figureName.MatchString(b.arg) {
		pr.add(file, b.line, ":::figure %q: name the image file in the module's images folder, such as referral-journey.svg (lowercase, .svg, .png or .jpg)", b.arg)
	}
	lines := strings.Split(b.body, "\n")
	i := 0
	for ; i < len(lines); i++ {
		ln := strings.TrimSpace(lines[i])
		if ln == "" {
			if f.alt != "" || f.caption != "" {
				break
			}
			continue
		}
		key, val, ok := strings.Cut(ln, ":")
		if !ok || (key != "alt" && key != "caption") {
			break
		}
		val = strings.TrimSpace(val)
		if key == "alt" {
			f.alt = val
		} else {
			f.caption = val
		}
	}
	b.body = strings.Join(lines[i:], "\n")
	switch {
	case f.alt == "":
		pr.add(file, b.line, ":::figure %s: the first line must be \"alt: \" and a short text alternative", b.arg)
	case len(f.alt) > 250:
		pr.add(file, b.line, ":::figure %s: alt text is %d characters; keep it under 250 and put the detail in the long description", b.arg, len(f.alt))
	case strings.EqualFold(f.alt, b.arg) || strings.Contains(strings.ToLower(f.alt), ".svg") || strings.HasPrefix(strings.ToLower(f.alt), "image of"):
		pr.add(file, b.line, ":::figure %s: alt text %q should say what the picture shows, not name the file or say \"image of\"", b.arg, f.alt)
	}
	if strings.TrimSpace(b.body) == "" {
		pr.add(file, b.line, ":::figure %s: write a long description after the alt line (a blank line, then Markdown) that gives everything the picture shows", b.arg)
	}
}

// loadFigures reads each figure's image from the module's images folder
// and checks its size and type.
func loadFigures(fsys fs.FS, m *Module, pr *problems) {
	used := map[string]bool{}
	for _, p := range m.Pages {
		for _, pt := range p.parts {
			b := pt.block
			if b == nil || b.figure == nil || !figureName.MatchString(b.arg) {
				continue
			}
			name := path.Join("modules", m.Dir, "images", b.arg)
			data, err := fs.ReadFile(fsys, name)
			if err != nil {
				pr.add(p.File, b.line, ":::figure %s: cannot read %s: %v", b.arg, name, err)
				continue
			}
			if err := checkImage(b.arg, data); err != nil {
				pr.add(name, 0, "%v", err)
				continue
			}
			b.figure.data = data
			used[b.arg] = true
		}
	}
	entries, _ := fs.ReadDir(fsys, path.Join("modules", m.Dir, "images"))
	for _, e := range entries {
		if !e.IsDir() && !used[e.Name()] {
			pr.add(path.Join("modules", m.Dir, "images", e.Name()), 0, "image is not used by any :::figure (remove it or place it)")
		}
	}
}

// checkImage refuses images that are too big, are not what their
// extension says, or (for SVG) could run script or load other files.
func checkImage(name string, data []byte) error {
	if len(data) > MaxImageBytes {
		return fmt.Errorf("image is %d KB; the limit is %d KB", (len(data)+1023)>>10, MaxImageBytes>>10)
	}
	switch path.Ext(name) {
	case ".png":
		if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
			return fmt.Errorf("not a PNG file, although the name ends in .png")
		}
	case ".jpg", ".jpeg":
		if !bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}) {
			return fmt.Errorf("not a JPEG file, although the name ends in .jpg")
		}
	case ".svg":
		return checkSVG(data)
	default:
		return fmt.Errorf("images must be .svg, .png or .jpg")
	}
	return nil
}

// checkSVG checks that data is an SVG document with a viewBox (so it
// scales to the screen) and nothing active or external in it.
func checkSVG(data []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(data))
	root := true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("not well-formed SVG: %v", err)
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root {
			root = false
			if el.Name.Local != "svg" {
				return fmt.Errorf("not an SVG file: the root element is <%s>", el.Name.Local)
			}
			if !hasAttr(el, "viewBox") {
				return fmt.Errorf("the <svg> element needs a viewBox so the diagram scales to the screen")
			}
		}
		switch strings.ToLower(el.Name.Local) {
		case "script", "foreignobject", "iframe":
			return fmt.Errorf("SVG may not contain <%s>", el.Name.Local)
		}
		for _, a := range el.Attr {
			n := strings.ToLower(a.Name.Local)
			if strings.HasPrefix(n, "on") {
				return fmt.Errorf("SVG may not contain event attributes such as %s", a.Name.Local)
			}
			if n == "href" && !strings.HasPrefix(a.Value, "#") {
				return fmt.Errorf("SVG may only link inside itself (href %q)", a.Value)
			}
		}
	}
	if root {
		return fmt.Errorf("empty SVG file")
	}
	return nil
}

func hasAttr(el xml.StartElement, name string) bool {
	for _, a := range el.Attr {
		if a.Name.Local == name {
			return true
		}
	}
	return false
}

// renderFigure writes the figure: the picture with its alt text, the
// caption, and the long description folded beneath it.
func (r *renderer) figure(bl *block) string {
	f := bl.figure
	if f == nil {
		return ""
	}
	id := "fig-" + strings.TrimSuffix(f.file, path.Ext(f.file))
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="diagram" id="%s"><img src="images/%s" alt="%s" aria-describedby="%s-long">`, id, esc(f.file), esc(subst(f.alt, r.borough)), id)
	if f.caption != "" {
		b.WriteString(`<figcaption>` + esc(subst(f.caption, r.borough)) + `</figcaption>`)
	}
	fmt.Fprintf(&b, `<details class="long-description"><summary>Long description of this diagram</summary><div id="%s-long">%s</div></details></figure>`,
		id, strings.ReplaceAll(bl.bodyHTML, "{{borough}}", esc(r.borough)))
	return b.String()
}
