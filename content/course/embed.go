package course

import (
	"embed"
	"io/fs"
	"sync"
)

//go:embed modules course.yaml
var sources embed.FS

// Sources returns the course sources embedded in the binary: course.yaml
// at the root and the modules folder beside it.
func Sources() fs.FS { return sources }

var (
	embeddedOnce   sync.Once
	embeddedCourse *Course
	embeddedErr    error
)

// Embedded returns the course loaded from the embedded sources, loading
// and validating it once per process.
func Embedded() (*Course, error) {
	embeddedOnce.Do(func() { embeddedCourse, embeddedErr = Load(sources) })
	return embeddedCourse, embeddedErr
}
