// noteopen opens C2SP signed notes with golang.org/x/mod/sumdb/note:
//
//	noteopen -key VKEY [-key VKEY...] NOTE_FILE...
//
// For each file it prints "<file>: opened by <name>+<hash>: <first line of
// the text> <second line>" and exits 0 when every note opened, or prints
// the error and exits 1 at the first that did not.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

type keys []string

func (k *keys) String() string     { return strings.Join(*k, ",") }
func (k *keys) Set(v string) error { *k = append(*k, v); return nil }

func main() {
	var vkeys keys
	flag.Var(&vkeys, "key", "a verifier key <name>+<hash>+<base64> (repeatable)")
	flag.Parse()
	if len(vkeys) == 0 || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: noteopen -key VKEY NOTE_FILE...")
		os.Exit(2)
	}
	var verifiers []note.Verifier
	for _, k := range vkeys {
		v, err := note.NewVerifier(strings.TrimSpace(k))
		if err != nil {
			fmt.Fprintf(os.Stderr, "key %q: %v\n", k, err)
			os.Exit(2)
		}
		verifiers = append(verifiers, v)
	}
	list := note.VerifierList(verifiers...)
	for _, path := range flag.Args() {
		msg, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		n, err := note.Open(msg, list)
		if err != nil {
			fmt.Printf("%s: %v\n", path, err)
			os.Exit(1)
		}
		lines := strings.SplitN(n.Text, "\n", 3)
		fmt.Printf("%s: opened by %s+%08x: %s %s\n", path, n.Sigs[0].Name, n.Sigs[0].Hash, lines[0], lines[1])
	}
}
