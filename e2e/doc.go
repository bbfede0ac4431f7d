// Package e2e holds end-to-end tests that run the real vigil binary as a
// child process and drive it with real clients (logger, rsyslog, HTTP),
// including kill -9 in the middle of ingest. It has no code of its own.
package e2e
