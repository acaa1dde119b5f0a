package point

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// xmlElem is one element of a decoded XML document. Element 0 is the
// document itself, whose children are the root element.
type xmlElem struct {
	space, local string
	text         []byte
	attrs        []xml.Attr
	children     []int32
}

// xmlDoc is a decoded XML document, kept per exchange.
type xmlDoc struct {
	elems []xmlElem
}

// parseXML decodes an XML document into elements, bounded by MaxDepth and
// MaxElements. A document that breaks after its first element keeps what
// was read (a body cut by the body limit still yields its beginning); one
// that breaks before yields nothing. cut says a limit stopped it.
func parseXML(s string, partial bool, lim Limits) (*xmlDoc, bool) {
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	x := &xmlDoc{elems: []xmlElem{{}}}
	stack := []int32{0}
	cut := false
	broken := false
	for {
		tok, err := d.RawToken()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				broken = true
			}
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) > lim.MaxDepth || len(x.elems) > lim.MaxElements {
				cut = true
				goto done
			}
			parent := stack[len(stack)-1]
			if parent == 0 && len(x.elems[0].children) > 0 {
				broken = true // a second root element
				goto done
			}
			id := int32(len(x.elems))
			x.elems = append(x.elems, xmlElem{space: t.Name.Space, local: t.Name.Local, attrs: t.Attr})
			x.elems[parent].children = append(x.elems[parent].children, id)
			stack = append(stack, id)
		case xml.EndElement:
			if len(stack) <= 1 {
				broken = true
				goto done
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if top := stack[len(stack)-1]; top != 0 {
				x.elems[top].text = append(x.elems[top].text, t...)
			}
		}
	}
done:
	if len(x.elems) == 1 {
		return nil, cut
	}
	if (broken || len(stack) > 1) && !partial && !cut {
		return nil, false
	}
	return x, cut || ((broken || len(stack) > 1) && partial)
}

// selectName appends the children of element n named name; "@name"
// selects an attribute. Names match the local name, or "prefix:local".
func (x *xmlDoc) selectName(n node, name string, out []node) []node {
	el := &x.elems[n.tok]
	if attr, ok := strings.CutPrefix(name, "@"); ok {
		for _, a := range el.attrs {
			if xmlNameIs(a.Name.Space, a.Name.Local, attr) {
				out = append(out, node{kind: nText, s: a.Value, partial: n.partial})
			}
		}
		return out
	}
	for _, c := range el.children {
		ce := &x.elems[c]
		if xmlNameIs(ce.space, ce.local, name) {
			out = append(out, node{kind: nXML, doc: n.doc, tok: c, partial: n.partial})
		}
	}
	return out
}

func xmlNameIs(space, local, name string) bool {
	if local == name {
		return true
	}
	return space != "" && len(name) == len(space)+1+len(local) &&
		strings.HasPrefix(name, space) && name[len(space)] == ':' && strings.HasSuffix(name, local)
}

// text is the character data directly inside element n, trimmed.
func (x *xmlDoc) text(n node) string {
	return strings.TrimSpace(string(x.elems[n.tok].text))
}

// xmlAttr is an attribute as encoding/xml reads it.
type xmlAttr = xml.Attr
