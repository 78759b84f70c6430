package test

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/store/etcd/etcdtest"
)

// consoleRow is a row of the console's Nodes page as plugin/georoute/api/console/e2e/nodes.mjs
// reads it.
type consoleRow struct {
	Node string `json:"node"`
	Lag  int    `json:"lag"`
	Self bool   `json:"self"`
}

// TestConsoleNodes: the console's Nodes page, in Debian's chromium, with three nodes on one
// etcd: it lists the three live nodes, the one it is served by marked, none behind; a node
// killed leaves the list once its presence lease runs out. Skipped without chromium or the
// browser test's npm install, unless GEOROUTE_REQUIRE_CHROMIUM=1.
func TestConsoleNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd, three appliances and a browser")
	}
	const script = "../plugin/georoute/api/console/e2e/nodes.mjs"
	missing := func(what string) {
		t.Helper()
		if os.Getenv("GEOROUTE_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("%s (GEOROUTE_REQUIRE_CHROMIUM=1)", what)
		}
		t.Skip(what)
	}
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		missing("no " + chromium + ": apt-get install chromium")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("no node")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(script), "node_modules/playwright-core")); err != nil {
		missing("no playwright-core: npm ci in " + filepath.Dir(script))
	}
	etcd := etcdtest.Start(t, 1)
	nodes := startNodes(t, etcd.Endpoints(), "/georoute/console-nodes/")

	cmd := exec.Command(node, script)
	shot := filepath.Join(t.TempDir(), "nodes.png")
	if dir := os.Getenv("GEOROUTE_CONSOLE_SHOTS"); dir != "" {
		shot = filepath.Join(dir, "console-nodes.png")
	}
	cmd.Env = append(os.Environ(), "CONSOLE_URL="+nodes[0].api+"/ui/", "TOKEN="+durableToken, "CHROMIUM="+chromium, "SHOT="+shot)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	read := func() []consoleRow {
		t.Helper()
		if _, err := io.WriteString(stdin, "read\n"); err != nil {
			t.Fatalf("the browser script is gone: %v", err)
		}
		if !lines.Scan() {
			t.Fatalf("the browser script ended: %v", cmd.Wait())
		}
		var rows []consoleRow
		if err := json.Unmarshal(lines.Bytes(), &rows); err != nil {
			t.Fatalf("%q: %v", lines.Text(), err)
		}
		return rows
	}
	await := func(what string, within time.Duration, ok func([]consoleRow) bool) []consoleRow {
		t.Helper()
		var rows []consoleRow
		for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if rows = read(); ok(rows) {
				return rows
			}
		}
		t.Fatalf("the Nodes page shows %+v after %v, want %s", rows, within, what)
		return nil
	}
	names := func(rows []consoleRow) string {
		var out []string
		for _, r := range rows {
			out = append(out, r.Node)
		}
		return strings.Join(out, " ")
	}
	rows := await("n1 n2 n3, none behind", 30*time.Second, func(rows []consoleRow) bool {
		behind := false
		for _, r := range rows {
			behind = behind || r.Lag != 0
		}
		return names(rows) == "n1 n2 n3" && !behind
	})
	if !rows[0].Self || rows[1].Self || rows[2].Self {
		t.Errorf("the page is served by n1: %+v", rows)
	}
	if code, body, err := nodes[1].putName("console-nodes", "iad1"); err != nil || code != 201 {
		t.Fatalf("PUT on n2: %d %s %v", code, body, err)
	}
	nodes[2].cmd.Process.Kill()
	<-nodes[2].exited
	start := time.Now()
	await("n1 n2 once n3's lease is out", 40*time.Second, func(rows []consoleRow) bool { return names(rows) == "n1 n2" })
	t.Logf("a killed node left the Nodes page after %v (its presence lease: 10 s)", time.Since(start).Round(100*time.Millisecond))
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the browser script: %v", err)
	}
	t.Logf("screenshot: %s", shot)
}
