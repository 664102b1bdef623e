package testphoto

import (
	"os"
	"path/filepath"
	"testing"
)

// CorpusDir is the shared real-world image corpus (shared/testdata/images
// beside the repository, described in its SOURCES.md), found by walking up
// from the working directory, or "" when it is absent.
func CorpusDir() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		p := filepath.Join(dir, "shared", "testdata", "images")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// CorpusPath returns the path of a corpus file, skipping the test with a
// clear message when the corpus is absent.
func CorpusPath(tb testing.TB, name string) string {
	tb.Helper()
	dir := CorpusDir()
	if dir == "" {
		tb.Skipf("real-world image corpus not found: it lives beside the repository in ../shared/testdata/images (needed for %s)", name)
	}
	return filepath.Join(dir, name)
}

// Corpus returns the bytes of a corpus file (see CorpusPath).
func Corpus(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(CorpusPath(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// SharedFile returns the path of rel inside the shared/ folder beside the
// repository (as CorpusDir finds it, walking up from the working
// directory), or "" when there is no such file.
func SharedFile(rel string) string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		p := filepath.Join(dir, "shared", filepath.FromSlash(rel))
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
