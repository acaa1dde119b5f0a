package postgres

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestPartCloneSharesNothing: a cached part is shared by the committers of
// a store, which merge into clones; a field the clone shared with the
// cached part (a map, a pointer, a slice added later) would let one
// transaction's merge change what another reads as the stored revision.
func TestPartCloneSharesNothing(t *testing.T) {
	p := &part{}
	v := reflect.ValueOf(p).Elem()
	fields := 0
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Map:
			m := reflect.MakeMap(f.Type())
			m.SetMapIndex(reflect.Zero(f.Type().Key()), reflect.Zero(f.Type().Elem()))
			f.Set(m)
			fields++
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
			fields++
		case reflect.Slice, reflect.Interface, reflect.Chan, reflect.Func:
			t.Fatalf("part field %s (%s) is not handled by this test nor, likely, by clone", v.Type().Field(i).Name, f.Kind())
		}
	}
	if fields == 0 {
		t.Fatal("part has no reference fields: the test checks nothing")
	}
	before, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	q := p.clone()
	if !reflect.DeepEqual(p, q) {
		t.Fatalf("clone differs from the part:\n got %+v\nwant %+v", q, p)
	}
	c := reflect.ValueOf(q).Elem()
	for i := 0; i < v.NumField(); i++ {
		name := v.Type().Field(i).Name
		switch f, g := v.Field(i), c.Field(i); f.Kind() {
		case reflect.Map, reflect.Pointer:
			if f.Pointer() == g.Pointer() {
				t.Errorf("clone shares field %s with the part", name)
			}
		}
	}
	// Changing every reference field of the clone leaves the part as it was.
	for i := 0; i < c.NumField(); i++ {
		switch g := c.Field(i); g.Kind() {
		case reflect.Map:
			g.Clear()
		case reflect.Pointer:
			g.Elem().Set(reflect.Zero(g.Elem().Type()))
			if g.Elem().Kind() == reflect.Struct && g.Elem().NumField() > 0 && g.Elem().Field(0).CanSet() {
				// Make the change visible in the JSON as well.
				for j := 0; j < g.Elem().NumField(); j++ {
					if fl := g.Elem().Field(j); fl.Kind() == reflect.String {
						fl.SetString("changed")
					}
				}
			}
		}
	}
	after, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Fatalf("changing the clone changed the part:\nbefore %s\n after %s", before, after)
	}
}
