package scenario

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: Parse never panics, and returns exactly one of a scenario or
// an error; every error it returns is positioned in the file it was given.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"../../scenarios/*.yaml", "testdata/bad/*.yaml"} {
		files, _ := filepath.Glob(dir)
		for _, file := range files {
			src, err := os.ReadFile(file)
			if err == nil {
				f.Add(src)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := parse("fuzz.yaml", src, noEnv)
		if (s == nil) == (err == nil) {
			t.Fatalf("Parse returned scenario %v and error %v; want exactly one", s != nil, err)
		}
		if err != nil {
			es := Errors(err)
			if len(es) == 0 {
				t.Fatalf("error %q holds no *scenario.Error", err)
			}
			for _, e := range es {
				if e.File != "fuzz.yaml" {
					t.Fatalf("error %q names file %q", e, e.File)
				}
			}
		}
	})
}
