package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv("VANE_STORE_CRASH_CHILD") != "" {
		crashChild()
		return
	}
	goleak.VerifyTestMain(m)
}

type doc struct {
	Step int    `json:"step"`
	Note string `json:"note"`
}

func TestSaveLoadHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "vane.db")
	db, err := Open(path, Options{HistoryLimit: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := db.Save("rollout", "checkout", doc{Step: i}, doc{Step: i, Note: "a"}, doc{Step: i, Note: "b"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Save("rollout", "cart", doc{Step: 9}); err != nil {
		t.Fatal(err)
	}
	var got doc
	if err := db.Get("rollout", "checkout", &got); err != nil || got.Step != 4 {
		t.Fatalf("Get = %+v, %v; want step 4", got, err)
	}
	if err := db.Get("rollout", "nope", &got); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(nope) = %v, want ErrNotFound", err)
	}
	names, err := db.Names("rollout")
	if err != nil || fmt.Sprint(names) != "[cart checkout]" {
		t.Fatalf("Names = %v, %v", names, err)
	}
	h, err := db.History("rollout", "checkout", 0)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, r := range h {
		var d doc
		if err := json.Unmarshal(r, &d); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, fmt.Sprintf("%d%s", d.Step, d.Note))
	}
	if fmt.Sprint(steps) != "[3b 4a 4b]" {
		t.Fatalf("history = %v, want the 3 latest [3b 4a 4b]", steps)
	}
	if h, _ := db.History("rollout", "checkout", 2); len(h) != 2 {
		t.Fatalf("History limit 2 gave %d", len(h))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopen: everything is still there.
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Get("rollout", "cart", &got); err != nil || got.Step != 9 {
		t.Fatalf("after reopen Get = %+v, %v", got, err)
	}
}

func TestLockedByAnotherProcessIsAClearError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vane.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// bbolt's flock is per open file description, so a second Open in the
	// same process also waits for it.
	_, err = Open(path, Options{Timeout: 100e6})
	if err == nil {
		t.Fatal("second Open succeeded")
	}
	t.Log(err)
}

// crashChild saves states forever until it is SIGKILLed.
func crashChild() {
	db, err := Open(os.Getenv("VANE_STORE_CRASH_CHILD"), Options{HistoryLimit: 10})
	if err != nil {
		os.Exit(2)
	}
	for i := 0; ; i++ {
		if err := db.Save("rollout", "checkout", doc{Step: i}, doc{Step: i}); err != nil {
			os.Exit(3)
		}
		if i == 50 {
			fmt.Println("ready")
		}
	}
}

// TestSIGKILLLeavesAConsistentFile kills a process in the middle of
// saving and checks that the file opens with a whole state whose last
// event matches it.
func TestSIGKILLLeavesAConsistentFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vane.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VANE_STORE_CRASH_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := out.Read(buf); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	db, err := Open(path, Options{HistoryLimit: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var st doc
	if err := db.Get("rollout", "checkout", &st); err != nil {
		t.Fatal(err)
	}
	h, err := db.History("rollout", "checkout", 1)
	if err != nil || len(h) != 1 {
		t.Fatalf("history: %v %v", h, err)
	}
	var last doc
	_ = json.Unmarshal(h[0], &last)
	if st.Step < 50 || last.Step != st.Step {
		t.Fatalf("state step %d, last event step %d: not one transaction", st.Step, last.Step)
	}
	t.Logf("killed after %d saves; state and history agree", st.Step)
}
