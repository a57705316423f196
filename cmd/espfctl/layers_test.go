package main

import (
	"go/build"
	"path/filepath"
	"strings"
	"testing"
)

// layers is doc.go's import direction: a package imports only packages of
// lower layers (tests aside). testutil, the tests' helpers, is above them
// all: it may use any package, and no package (only tests) imports it.
var layers = map[string]int{
	"entity": 0, "sign": 0, "term": 0, "release": 0, "schema": 0, "listen": 0,
	"event": 1, "espf": 1, "restart": 1, "starter": 1,
	"sim": 2, "check": 2, "espfapi": 2, "journal": 2,
	"verify":   3,
	"scenario": 4, "inspect": 4,
	"report":   5,
	"runner":   6,
	"testutil": 7,
}

func TestImportDirection(t *testing.T) {
	t.Parallel()
	const prefix = "github.com/espfctl/espfctl/internal/"
	dirs, err := filepath.Glob("../../internal/*")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, dir := range dirs {
		name := filepath.Base(dir)
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			continue // not a package
		}
		seen++
		own, ok := layers[name]
		if !ok {
			t.Errorf("internal/%s is not in doc.go's import direction (nor in layers here)", name)
			continue
		}
		for _, imp := range pkg.Imports {
			dep, isInternal := strings.CutPrefix(imp, prefix)
			if !isInternal {
				continue
			}
			dep, _, _ = strings.Cut(dep, "/")
			if layers[dep] >= own {
				t.Errorf("internal/%s (layer %d) imports internal/%s (layer %d): the import direction is upward or sideways", name, own, dep, layers[dep])
			}
		}
	}
	if seen < len(layers) {
		t.Errorf("found %d internal packages, want the %d of the table", seen, len(layers))
	}
}

// TestCommandsOnlyTranslate: the commands translate flags or YAML into a
// run description and hand it to the orchestrator (internal/runner); what
// a run assembles (entity tracking, the PortaBilling API mock) is the
// runner's, so the command layer does not import it.
func TestCommandsOnlyTranslate(t *testing.T) {
	t.Parallel()
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "github.com/espfctl/espfctl/internal/"
	for _, imp := range pkg.Imports {
		switch strings.TrimPrefix(imp, prefix) {
		case "entity", "espfapi":
			t.Errorf("cmd/espfctl imports %s: a run's parts are assembled by internal/runner, the commands only translate", imp)
		}
	}
}
