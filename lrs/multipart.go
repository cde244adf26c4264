package lrs

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strings"

	"github.com/reach-london/reach/internal/errs"
)

// ParseMultipart reads a statements request in multipart/mixed form
// (xAPI 1.0.3 §2.4.11, Communication 1.5.2): the first part holds the
// statements as application/json; every later part is one attachment's
// bytes with an X-Experience-API-Hash header naming its SHA-2, which is
// checked here. maxBytes caps the whole body's decoded size.
func ParseMultipart(r io.Reader, boundary string, maxBytes int64) ([]byte, []Part, error) {
	return ParseMultipartWithin(r, boundary, maxBytes, maxBytes)
}

// ParseMultipartWithin is ParseMultipart with the statements part capped
// at maxJSON bytes, as a plain JSON statements request is.
func ParseMultipartWithin(r io.Reader, boundary string, maxBytes, maxJSON int64) ([]byte, []Part, error) {
	if boundary == "" {
		return nil, nil, errs.E(errs.Invalid, "multipart/mixed Content-Type needs a boundary parameter")
	}
	mr := multipart.NewReader(io.LimitReader(r, maxBytes+1), boundary)
	var stmts []byte
	var parts []Part
	budget := maxBytes
	for i := 0; ; i++ {
		// NextRawPart leaves Content-Transfer-Encoding alone so it can be
		// checked rather than silently decoded.
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if i == 0 {
				return nil, nil, errs.E(errs.Invalid, "multipart body has no part delimited by the boundary given in Content-Type")
			}
			return nil, nil, errs.E(errs.Invalid, "multipart body is malformed: %s", shortErr(err))
		}
		limit := budget
		if i == 0 && maxJSON < limit {
			limit = maxJSON
		}
		data, err := io.ReadAll(io.LimitReader(p, limit+1))
		if err != nil {
			return nil, nil, errs.E(errs.Invalid, "multipart body is malformed: %s", shortErr(err))
		}
		if i == 0 && int64(len(data)) > maxJSON {
			return nil, nil, errs.E(errs.TooLarge, "the statements part is larger than %d bytes, the limit of one request; send smaller batches", maxJSON)
		}
		if int64(len(data)) > budget {
			return nil, nil, errs.E(errs.TooLarge, "multipart body is larger than %d bytes", maxBytes)
		}
		budget -= int64(len(data))
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if i == 0 {
			if ct != "application/json" {
				return nil, nil, errs.E(errs.Invalid, "the first part of a multipart/mixed statements request must be application/json, got %q", p.Header.Get("Content-Type"))
			}
			stmts = data
			continue
		}
		if cte := p.Header.Get("Content-Transfer-Encoding"); cte != "" && !strings.EqualFold(cte, "binary") {
			return nil, nil, errs.E(errs.Invalid, "part %d: Content-Transfer-Encoding must be binary, got %q", i, cte)
		}
		hash := strings.ToLower(strings.TrimSpace(p.Header.Get("X-Experience-API-Hash")))
		if hash == "" {
			return nil, nil, errs.E(errs.Invalid, "part %d has no X-Experience-API-Hash header", i)
		}
		if got, ok := sha2Hex(data, len(hash)); !ok {
			return nil, nil, errs.E(errs.Invalid, "part %d: X-Experience-API-Hash is not a SHA-2 hash", i)
		} else if got != hash {
			return nil, nil, errs.E(errs.Invalid, "part %d: its bytes do not match its X-Experience-API-Hash", i)
		}
		parts = append(parts, Part{SHA2: hash, ContentType: p.Header.Get("Content-Type"), Data: data})
	}
	if stmts == nil {
		return nil, nil, errs.E(errs.Invalid, "multipart body has no statements part")
	}
	return stmts, parts, nil
}

// sha2Hex hashes data with the SHA-2 variant whose hex digest has n
// characters.
func sha2Hex(data []byte, n int) (string, bool) {
	switch n {
	case 56:
		s := sha256.Sum224(data)
		return hex.EncodeToString(s[:]), true
	case 64:
		s := sha256.Sum256(data)
		return hex.EncodeToString(s[:]), true
	case 96:
		s := sha512.Sum384(data)
		return hex.EncodeToString(s[:]), true
	case 128:
		s := sha512.Sum512(data)
		return hex.EncodeToString(s[:]), true
	}
	return "", false
}

func shortErr(err error) string {
	s := strings.TrimPrefix(err.Error(), "multipart: ")
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

// WriteMultipart writes statements JSON and attachment parts as a
// multipart/mixed body and returns its Content-Type.
func WriteMultipart(w io.Writer, stmts []byte, parts []Part) (string, error) {
	mw := multipart.NewWriter(w)
	h := map[string][]string{"Content-Type": {"application/json"}}
	pw, err := mw.CreatePart(h)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(pw, bytes.NewReader(stmts)); err != nil {
		return "", err
	}
	for _, p := range parts {
		ct := p.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		pw, err := mw.CreatePart(map[string][]string{
			"Content-Type":              {ct},
			"Content-Transfer-Encoding": {"binary"},
			"X-Experience-API-Hash":     {p.SHA2},
		})
		if err != nil {
			return "", err
		}
		if _, err := pw.Write(p.Data); err != nil {
			return "", err
		}
	}
	if err := mw.Close(); err != nil {
		return "", err
	}
	return "multipart/mixed; boundary=" + mw.Boundary(), nil
}
