package actuator_test

import (
	"errors"
	"testing"

	"github.com/vaneproj/vane/autoscale"
	"github.com/vaneproj/vane/autoscale/actuator"
)

func TestParseScale(t *testing.T) {
	ok := map[string]struct {
		in   string
		want autoscale.Scale
	}{
		"a bare count":                   {"3\n", autoscale.Scale{Desired: 3, Ready: 3}},
		"zero":                           {" 0 ", autoscale.Scale{}},
		"JSON with ready":                {`{"desired": 4, "ready": 2}`, autoscale.Scale{Desired: 4, Ready: 2}},
		"JSON without ready":             {`{"desired": 4}`, autoscale.Scale{Desired: 4, Ready: 4}},
		"JSON with other fields":         {`{"desired": 1, "ready": 1, "note": "ok"}`, autoscale.Scale{Desired: 1, Ready: 1}},
		"more ready than desired (down)": {`{"desired": 1, "ready": 3}`, autoscale.Scale{Desired: 1, Ready: 3}},
	}
	for name, tc := range ok {
		t.Run(name, func(t *testing.T) {
			got, err := actuator.ParseScale([]byte(tc.in))
			if err != nil || got != tc.want {
				t.Fatalf("ParseScale(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
	bad := map[string]string{
		"empty":             "  \n",
		"words":             "three",
		"three counts":      "3 2 1",
		"a bad ready":       "3 x",
		"a fraction":        "2.5",
		"negative":          "-1",
		"too large":         "2147483648",
		"no desired":        `{"ready": 2}`,
		"desired a string":  `{"desired": "2"}`,
		"negative ready":    `{"desired": 2, "ready": -1}`,
		"two objects":       `{"desired": 2} {"desired": 3}`,
		"truncated JSON":    `{"desired": 2`,
		"fractional desire": `{"desired": 2.5}`,
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			got, err := actuator.ParseScale([]byte(in))
			if !errors.Is(err, actuator.ErrBadResponse) {
				t.Fatalf("ParseScale(%q) = %+v, %v; want ErrBadResponse", in, got, err)
			}
		})
	}
}

func FuzzParseScale(f *testing.F) {
	for _, s := range []string{"3", `{"desired": 4, "ready": 2}`, `{"desired": 1}`, "-1", "{", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := actuator.ParseScale(b)
		if err != nil {
			if !errors.Is(err, actuator.ErrBadResponse) {
				t.Fatalf("ParseScale(%q): %v does not wrap ErrBadResponse", b, err)
			}
			return
		}
		if s.Desired < 0 || s.Ready < 0 {
			t.Fatalf("ParseScale(%q) = %+v: negative count", b, s)
		}
	})
}
