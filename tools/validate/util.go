package main

import (
	"bufio"
	"bytes"
)

func bufioReader(content []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(content)) }

// stripComments drops comment-only lines so a document holding nothing but comments is skipped.
func stripComments(document []byte) []byte {
	var kept [][]byte
	for _, line := range bytes.Split(document, []byte("\n")) {
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 && trimmed[0] != '#' {
			kept = append(kept, line)
		}
	}
	return bytes.Join(kept, []byte("\n"))
}
