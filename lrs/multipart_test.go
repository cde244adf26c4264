package lrs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/errs"
)

func renderTree(m map[string]any) ([]byte, []string, error) {
	b, err := json.Marshal(m)
	return b, nil, err
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func multipartBody(parts ...string) string {
	return strings.Join(parts, "") + "--B--\r\n"
}

func part(headers, content string) string {
	return "--B\r\n" + headers + "\r\n" + content + "\r\n"
}

func TestParseMultipart(t *testing.T) {
	stmt := `{"x":1}`
	att := "hello attachment"
	tests := []struct {
		name     string
		body     string
		boundary string
		wantErr  string
		wantN    int
	}{
		{"statements and one attachment", multipartBody(
			part("Content-Type: application/json\r\n", stmt),
			part("Content-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\nX-Experience-API-Hash: "+hash(att)+"\r\n", att)), "B", "", 1},
		{"no transfer encoding is fine", multipartBody(
			part("Content-Type: application/json\r\n", stmt),
			part("Content-Type: text/plain\r\nX-Experience-API-Hash: "+hash(att)+"\r\n", att)), "B", "", 1},
		{"base64 transfer encoding", multipartBody(
			part("Content-Type: application/json\r\n", stmt),
			part("Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\nX-Experience-API-Hash: "+hash(att)+"\r\n", att)), "B", "binary", 0},
		{"missing hash", multipartBody(
			part("Content-Type: application/json\r\n", stmt),
			part("Content-Type: text/plain\r\n", att)), "B", "no X-Experience-API-Hash", 0},
		{"wrong hash", multipartBody(
			part("Content-Type: application/json\r\n", stmt),
			part("Content-Type: text/plain\r\nX-Experience-API-Hash: "+hash("other")+"\r\n", att)), "B", "do not match", 0},
		{"first part not JSON", multipartBody(part("Content-Type: text/plain\r\n", stmt)), "B", "must be application/json", 0},
		{"no boundary", multipartBody(part("Content-Type: application/json\r\n", stmt)), "", "boundary", 0},
		{"wrong boundary", multipartBody(part("Content-Type: application/json\r\n", stmt)), "C", "no statements part", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, parts, err := ParseMultipart(strings.NewReader(tt.body), tt.boundary, 1<<20)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if string(got) != stmt || len(parts) != tt.wantN || string(parts[0].Data) != att {
				t.Fatalf("got %q and %d parts, want the statement and %d", got, len(parts), tt.wantN)
			}
		})
	}
}

func TestWriteMultipartRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	data := []byte("bytes\r\n--not a boundary")
	ct, err := WriteMultipart(&buf, []byte(`{"statements":[]}`), []Part{{SHA2: hash(string(data)), ContentType: "text/plain", Data: data}})
	if err != nil {
		t.Fatal(err)
	}
	boundary := strings.TrimPrefix(ct, "multipart/mixed; boundary=")
	stmts, parts, err := ParseMultipart(&buf, boundary, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if string(stmts) != `{"statements":[]}` || len(parts) != 1 || !bytes.Equal(parts[0].Data, data) {
		t.Fatalf("got %q, %d parts", stmts, len(parts))
	}
}

func FuzzParseMultipart(f *testing.F) {
	att := "hello attachment"
	f.Add(multipartBody(part("Content-Type: application/json\r\n", `{"x":1}`),
		part("Content-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\nX-Experience-API-Hash: "+hash(att)+"\r\n", att)), "B")
	f.Add(multipartBody(part("Content-Type: application/json\r\n", `[]`)), "B")
	f.Add("--B\r\n\r\n--B--", "B")
	f.Add("garbage", "")
	f.Fuzz(func(t *testing.T, body, boundary string) {
		stmts, parts, err := ParseMultipart(strings.NewReader(body), boundary, 1<<16)
		if err != nil {
			if k := errs.KindOf(err); k != errs.Invalid && k != errs.TooLarge {
				t.Fatalf("error of kind %v: %v", k, err)
			}
			return
		}
		if stmts == nil {
			t.Fatal("accepted a body without a statements part")
		}
		for _, p := range parts {
			if got, _ := sha2Hex(p.Data, len(p.SHA2)); got != p.SHA2 {
				t.Fatalf("accepted a part whose bytes do not match its hash")
			}
		}
	})
}
