package evtx

import "testing"

// For the external tests in this directory (package evtx_test), which may
// import packages that import this one.

// FullChunksFile builds an EVTX file of n full chunks of Sysmon process
// creation records.
func FullChunksFile(n int) []byte { return fullChunksFile(n) }

// CorpusDir is the shared SigmaHQ regression data (the test is skipped
// when it is absent).
func CorpusDir(t testing.TB) string { return corpusDir(t) }
