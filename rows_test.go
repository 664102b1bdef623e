package gormthumb

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"gorm.io/gorm/schema"
)

type stringerID int

func (i stringerID) String() string { return "id-" + pkString(int(i)) }

// The primary key is part of v1 thumbnail digests (still recognised) and
// names a row in the outbox: the fast path that formats it must agree with
// pkString, used where only a value is at hand.
func TestPkPartMatchesPkString(t *testing.T) {
	type byUint struct{ ID uint }
	type byInt64 struct{ ID int64 }
	type byString struct{ ID string }
	type byStringer struct{ ID stringerID }
	for _, model := range []any{&byUint{ID: 42}, &byInt64{ID: -7}, &byString{ID: "abc"}, &byStringer{ID: 9}} {
		s, err := schema.Parse(model, &sync.Map{}, schema.NamingStrategy{})
		if err != nil {
			t.Fatal(err)
		}
		f := s.PrioritizedPrimaryField
		v := reflect.ValueOf(model).Elem()
		got, zero := pkPart(context.Background(), f, v)
		val, _ := f.ValueOf(context.Background(), v)
		if want := pkString(val); got != want || zero {
			t.Errorf("%T: pkPart = %q (zero %v), pkString = %q", model, got, zero, want)
		}
	}
}
