package course

import (
	"embed"
	"io/fs"
)

//go:embed modules course.yaml
var sources embed.FS

// Sources returns the course sources embedded in the binary: course.yaml
// at the root and the modules folder beside it.
func Sources() fs.FS { return sources }
