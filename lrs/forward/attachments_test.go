package forward_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/reachtest"
)

// TestForwardingCarriesAttachments forwards a statement whose attachment
// came as a multipart part: the target, a second Reach, accepts it only
// with the bytes, and serves them back.
func TestForwardingCarriesAttachments(t *testing.T) {
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			src, dst := startAllowingLoopback(t, b), startAllowingLoopback(t, b)
			src.App.StartForwarding(ctx, testOptions())
			t.Cleanup(src.App.StopForwarding)
			ac, dc := adminClient(t, src), adminClient(t, dst)
			user, dstUser := credential(t, ac, src, "london"), credential(t, dc, dst, "london")
			if _, err := ac.CreateForwarding(ctx, "london", client.ForwardingInput{Name: ptr("second reach"),
				Endpoint: ptr(dst.URL + "/xapi/"), AuthType: ptr("basic"), AuthKey: ptr(dstUser.key), Secret: ptr(dstUser.secret)}); err != nil {
				t.Fatal(err)
			}

			content := []byte("a reflection written in the course, " + time.Now().String())
			sum := sha256.Sum256(content)
			sha := hex.EncodeToString(sum[:])
			st := statement(verbCompleted, act1)
			st["attachments"] = []any{map[string]any{"usageType": "http://id.tincanapi.com/attachment/supporting_media",
				"display": map[string]any{"en-GB": "Reflection"}, "contentType": "text/plain", "length": len(content), "sha2": sha}}
			plain := statement(verbExperienced, act2) // same batch, no attachment
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			h := textproto.MIMEHeader{"Content-Type": {"application/json"}}
			w, _ := mw.CreatePart(h)
			_ = json.NewEncoder(w).Encode([]any{st, plain})
			h = textproto.MIMEHeader{"Content-Type": {"text/plain"}, "Content-Transfer-Encoding": {"binary"}, "X-Experience-API-Hash": {sha}}
			w, _ = mw.CreatePart(h)
			w.Write(content)
			mw.Close()
			req, _ := http.NewRequest(http.MethodPost, src.URL+"/xapi/statements", &body)
			req.SetBasicAuth(user.key, user.secret)
			req.Header.Set("X-Experience-API-Version", "1.0.3")
			req.Header.Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("post with attachment: %d %s", res.StatusCode, raw)
			}

			eventually(t, 20*time.Second, "statement with its attachment at the target", func() (bool, string) {
				return hasAll(dstUser.ids(t), ids(st, plain))
			})
			code, got := dstUser.do(t, http.MethodGet, "statements?attachments=true&statementId="+st["id"].(string), nil)
			if code != http.StatusOK || !strings.Contains(string(got), string(content)) {
				t.Errorf("attachment at the target: got %d %.300s, want the bytes", code, got)
			}
		})
	}
}
