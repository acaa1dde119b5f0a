package sessionize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
)

// maskJSONDecoder is maskJSON as it was written over encoding/json's
// Decoder: the reference FuzzMaskJSONSame holds maskJSON to. It rewrites a JSON body with secret-named fields (all their leaves)
// and secret values replaced by "***", keeping key order. With onSecret set
// it reports the values of secret-named fields instead of caring about the
// output. Invalid JSON is an error: the caller falls back to patterns.
func (m *masker) maskJSONDecoder(body []byte, sec secrets, onSecret func(string)) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	w := decoderWalker{m: m, dec: dec, sec: sec, onSecret: onSecret}
	w.out.Grow(len(body))
	if err := w.value(false, 0); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after json value")
	}
	return w.out.Bytes(), nil
}

type decoderWalker struct {
	m        *masker
	dec      *json.Decoder
	sec      secrets
	onSecret func(string)
	out      bytes.Buffer
}

func (w *decoderWalker) value(secret bool, depth int) error {
	if depth > maxMaskDepth {
		return errTooDeep
	}
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			w.out.WriteByte('{')
			for n := 0; w.dec.More(); n++ {
				kt, err := w.dec.Token()
				if err != nil {
					return err
				}
				key, ok := kt.(string)
				if !ok {
					return errors.New("json object key is not a string")
				}
				if n > 0 {
					w.out.WriteByte(',')
				}
				w.str(key)
				w.out.WriteByte(':')
				if err := w.value(secret || w.m.isSecretName(key), depth+1); err != nil {
					return err
				}
			}
			w.out.WriteByte('}')
		case '[':
			w.out.WriteByte('[')
			for n := 0; w.dec.More(); n++ {
				if n > 0 {
					w.out.WriteByte(',')
				}
				if err := w.value(secret, depth+1); err != nil {
					return err
				}
			}
			w.out.WriteByte(']')
		}
		// The closing delimiter.
		_, err := w.dec.Token()
		return err
	case string:
		w.leaf(secret, true, t, func() { w.str(t) })
	case json.Number:
		w.leaf(secret, false, t.String(), func() { w.out.WriteString(t.String()) })
	case bool:
		v := "false"
		if t {
			v = "true"
		}
		w.leaf(secret, false, v, func() { w.out.WriteString(v) })
	case nil:
		w.out.WriteString("null")
	}
	return nil
}

func (w *decoderWalker) leaf(secret, quoted bool, v string, write func()) {
	if w.onSecret != nil {
		switch {
		case secret:
			w.onSecret(v)
		case quoted && nestedText(v):
			w.m.nestedSecrets(v, w.onSecret)
		}
	}
	if secret || w.sec.is(v) {
		w.str(maskedValue)
		return
	}
	write()
}

// str writes a JSON string without HTML escaping (the content is data, and
// every renderer escapes it).
func (w *decoderWalker) str(s string) {
	enc := json.NewEncoder(&w.out)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	w.out.Truncate(w.out.Len() - 1)
}

// FuzzMaskJSONSame: maskJSON accepts, decodes and writes what the
// encoding/json walk did, with and without a secret, and reports the same
// secret-named values.
func FuzzMaskJSONSame(f *testing.F) {
	for _, s := range []string{`{"user":"a","password":"p"}`, `[{"token":{"x":[1,true,null]}}]`, `{"a":`, `"s"`, `1`,
		`{"pwd":"\u0041\n"}`, `{"d":"{\"password\":\"p1\"}","f":"a=1&token=t2"}`, `{"note":"<b>&</b>","n":1.50e3}`, " [ -0.5e+7 , \"\\u2028\\ud83d\\ude00\" ] ", `{"a":01}`, `{"a":1.}`,
		"{\"a\":\"\xff\x01\"}", `{"secret":{"a":[false,"x"]},"k":"4111"}`, `{"a":1,}`, `[1 2]`, `tru`, `nul`, `{"a" "b"}`} {
		f.Add(s, "4111")
	}
	m := newMasker()
	f.Fuzz(func(t *testing.T, in, secret string) {
		for _, sec := range []secrets{{}, newSecrets(secret).sorted()} {
			var got, want []string
			out, err := m.maskJSON([]byte(in), sec, func(v string) { got = append(got, v) })
			ref, rerr := m.maskJSONDecoder([]byte(in), sec, func(v string) { want = append(want, v) })
			if (err != nil) != (rerr != nil) {
				t.Fatalf("maskJSON(%q): error %v, encoding/json walk: %v", in, err, rerr)
			}
			if err != nil {
				continue
			}
			if !bytes.Equal(out, ref) {
				t.Fatalf("maskJSON(%q) = %s, encoding/json walk %s", in, out, ref)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("maskJSON(%q) reported %q, encoding/json walk %q", in, got, want)
			}
		}
	})
}
