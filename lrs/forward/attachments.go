package forward

import (
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/textproto"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/lrs"
)

// AttachmentSource opens the bytes of an attachment a borough's statement
// carried in its request (attachments without a fileUrl), so they travel
// with the statement to the target.
type AttachmentSource interface {
	OpenAttachment(ctx context.Context, borough, sha2 string) (io.ReadCloser, error)
}

// LRSAttachments reads attachments through the LRS service.
func LRSAttachments(svc *lrs.Service) AttachmentSource { return lrsAttachments{svc} }

type lrsAttachments struct{ svc *lrs.Service }

func (a lrsAttachments) OpenAttachment(ctx context.Context, borough, sha2 string) (io.ReadCloser, error) {
	// Reading an attachment is a borough-wide read.
	p := auth.Principal{Kind: auth.KindCredential, BoroughID: borough, Subject: "forwarding", Scopes: []auth.Scope{auth.ScopeAllRead}}
	return a.svc.OpenAttachment(ctx, p, sha2)
}

// part is an attachment that must travel as a multipart part.
type part struct {
	sha2, contentType string
}

// partsOf lists, once each, the attachments of entries that have no
// fileUrl: the target needs their bytes in the request.
func partsOf(entries []Entry) []part {
	type att struct {
		SHA2        string `json:"sha2"`
		ContentType string `json:"contentType"`
		FileURL     string `json:"fileUrl"`
	}
	var st struct {
		Attachments []att `json:"attachments"`
		Object      struct {
			Attachments []att `json:"attachments"`
		} `json:"object"`
	}
	var out []part
	seen := map[string]bool{}
	for _, e := range entries {
		st.Attachments, st.Object.Attachments = nil, nil
		if err := json.Unmarshal(e.Body, &st); err != nil {
			continue
		}
		for _, a := range append(st.Attachments, st.Object.Attachments...) {
			if a.FileURL != "" || a.SHA2 == "" || seen[a.SHA2] {
				continue
			}
			seen[a.SHA2] = true
			ct := a.ContentType
			if ct == "" {
				ct = "application/octet-stream"
			}
			out = append(out, part{sha2: a.SHA2, contentType: ct})
		}
	}
	return out
}

// writeMultipart writes the statements and their attachments as the
// multipart/mixed body xAPI defines, streaming each attachment.
func writeMultipart(ctx context.Context, mw *multipart.Writer, src AttachmentSource, borough string, statements []byte, parts []part) error {
	h := textproto.MIMEHeader{}
	h.Set("Content-Type", "application/json")
	w, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := w.Write(statements); err != nil {
		return err
	}
	for _, p := range parts {
		r, err := src.OpenAttachment(ctx, borough, p.sha2)
		if err != nil {
			return err
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", p.contentType)
		h.Set("Content-Transfer-Encoding", "binary")
		h.Set("X-Experience-API-Hash", p.sha2)
		w, err := mw.CreatePart(h)
		if err == nil {
			_, err = io.Copy(w, r)
		}
		r.Close()
		if err != nil {
			return err
		}
	}
	return mw.Close()
}
