package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// C2SP tlog-cosignature, Ed25519 (signature type 0x04), written from the
// spec rather than taken from a witness implementation:
//
//	vkey      = <name> "+" hex8(keyID) "+" base64(0x04 || 32-byte public key)
//	keyID     = SHA-256(<name> || "\n" || 0x04 || public key)[:4]
//	signature = base64(keyID || u64be(timestamp) || Ed25519 signature)   (4+8+64 bytes)
//	signed    = "cosignature/v1\ntime " <timestamp decimal> "\n" || checkpoint body
//
// golang.org/x/mod/sumdb/note knows only type 0x01 (plain Ed25519), so a
// cosignature needs this note.Verifier of our own.
const cosigV1 = 0x04

type CosigVerifier struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func cosigKeyID(name string, key ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{cosigV1})
	h.Write(key)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

func NewCosigVerifier(vkey string) (*CosigVerifier, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hash16, key64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || name == "" {
		return nil, fmt.Errorf("malformed witness vkey %q", vkey)
	}
	h, err := strconv.ParseUint(hash16, 16, 32)
	if err != nil || len(hash16) != 8 {
		return nil, fmt.Errorf("malformed witness vkey key ID %q", hash16)
	}
	key, err := base64.StdEncoding.DecodeString(key64)
	if err != nil || len(key) != 1+ed25519.PublicKeySize || key[0] != cosigV1 {
		return nil, fmt.Errorf("witness vkey is not an Ed25519 cosignature/v1 (0x04) key: %q", vkey)
	}
	v := &CosigVerifier{name: name, hash: uint32(h), key: ed25519.PublicKey(key[1:])}
	if cosigKeyID(name, v.key) != v.hash {
		return nil, fmt.Errorf("witness vkey key ID does not match its name and key: %q", vkey)
	}
	return v, nil
}

func (v *CosigVerifier) Name() string    { return v.name }
func (v *CosigVerifier) KeyHash() uint32 { return v.hash }

// Verify gets the note text and the signature without its 4-byte key ID.
func (v *CosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	ts := binary.BigEndian.Uint64(sig)
	if ts == 0 || ts > 1<<63-1 {
		return false
	}
	m := append(fmt.Appendf(nil, "cosignature/v1\ntime %d\n", ts), msg...)
	return ed25519.Verify(v.key, m, sig[8:])
}

// cosigTimestamp reads the timestamp of a cosignature line's base64 blob.
func cosigTimestamp(b64 string) (int64, error) {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != 4+8+ed25519.SignatureSize {
		return 0, errors.New("malformed cosignature")
	}
	return int64(binary.BigEndian.Uint64(b[4:12])), nil
}
