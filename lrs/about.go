package lrs

import "encoding/json"

// SupportedVersions are the xAPI versions the LRS accepts in the
// X-Experience-API-Version header, oldest first, as the About resource
// lists them. 1.0.0–1.0.2 are patch releases of 1.0, which 1.0.3 serves.
var SupportedVersions = []string{"1.0.0", "1.0.1", "1.0.2", "1.0.3", "2.0.0"}

// AboutExtension is the About resource's extension key under which Reach
// describes itself.
const AboutExtension = "https://reach.london/xapi/extensions/lrs"

// About is the body of the About resource (xAPI 1.0.3 Communication §2.8,
// IEEE 9274.1.1 §4.1.6.7).
type About struct {
	Version    []string                   `json:"version"`
	Extensions map[string]json.RawMessage `json:"extensions,omitempty"`
}

// NewAbout returns the About body for a server of the given product
// version (for example "1.4.0", or "dev").
func NewAbout(productVersion string) About {
	ext, _ := json.Marshal(map[string]string{"name": "Reach", "version": productVersion})
	return About{
		Version:    append([]string(nil), SupportedVersions...),
		Extensions: map[string]json.RawMessage{AboutExtension: ext},
	}
}
