/*
Copyright 2026.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package controller

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFilesDoNotReferBack: the package reads as the reconcile flow, each file using only files below it. A file
// that refers to a name declared in another file depends on it; the dependencies between files have no cycle.
func TestFilesDoNotReferBack(t *testing.T) {
	fset := token.NewFileSet()
	names, _ := filepath.Glob("*.go")
	files := map[string]*ast.File{}
	declaredIn := map[string][]string{} // top-level names and method names -> the files that declare them
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = f
		for _, decl := range f.Decls {
			for _, id := range declaredNames(decl) {
				declaredIn[id] = append(declaredIn[id], name)
			}
		}
	}
	uses := map[string][]string{}
	for name, f := range files {
		// A method's receiver names the type it belongs to, not a file it uses.
		receivers := map[*ast.Ident]bool{}
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv != nil {
				ast.Inspect(fn.Recv, func(n ast.Node) bool {
					if id, ok := n.(*ast.Ident); ok {
						receivers[id] = true
					}
					return true
				})
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			id, ok := n.(*ast.Ident)
			if !ok || receivers[id] {
				return true
			}
			// A name declared in one file only; one declared in several (Reconcile) says nothing about which.
			if in := declaredIn[id.Name]; len(in) == 1 && in[0] != name && !slices.Contains(uses[name], in[0]) {
				uses[name] = append(uses[name], in[0])
			}
			return true
		})
	}
	for name := range files {
		if cycle := cycleFrom(name, uses, nil); cycle != nil {
			t.Fatalf("files refer back to each other: %s", strings.Join(cycle, " -> "))
		}
	}
}

// declaredNames are the names a top-level declaration introduces, methods included.
func declaredNames(decl ast.Decl) []string {
	var out []string
	switch d := decl.(type) {
	case *ast.FuncDecl:
		out = append(out, d.Name.Name)
	case *ast.GenDecl:
		for _, spec := range d.Specs {
			switch s := spec.(type) {
			case *ast.TypeSpec:
				out = append(out, s.Name.Name)
			case *ast.ValueSpec:
				for _, n := range s.Names {
					out = append(out, n.Name)
				}
			}
		}
	}
	return out
}

// cycleFrom returns a path of uses from the end of path back into it, if there is one.
func cycleFrom(file string, uses map[string][]string, path []string) []string {
	if i := slices.Index(path, file); i >= 0 {
		return append(path[i:], file)
	}
	for _, next := range uses[file] {
		if cycle := cycleFrom(next, uses, append(path, file)); cycle != nil {
			return cycle
		}
	}
	return nil
}
