package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/vaneproj/vane/internal/ociimage"
	"github.com/vaneproj/vane/internal/tools"
)

// imageUID is the image's user, which the Deployment runs it as.
const imageUID = 65532

// TestImage runs vane-image twice, as `make image` does, from the tree
// (two `go build`s of vane, two image assemblies), the second pushing to a
// registry (go-containerregistry's in-memory one), and checks: the same
// digests and byte-identical `docker load` tarballs; the tarball, the OCI
// layout and the pushed index read back with go-containerregistry, with
// the user, entrypoint, command, ports and labels of the image's contract;
// a layer of exactly /tmp (1777) and /vane (0755), nothing else, so no
// shell; a static, trimmed binary. Then, as close to `docker run` as this
// machine allows without a container runtime, it extracts the layer into a
// root directory and runs the image's entrypoint and command in it as uid
// 65532 (chroot in a user namespace): `vane version`, then `vane run -c
// /etc/vane/vane.yaml` with a vane.yaml in that place, which serves
// /healthz, /readyz and /metrics, writes its store, the embedded
// Prometheus's TSDB and the SLO rule file under the image's /tmp, and
// stops cleanly on SIGTERM.
//
// The builds run in vane-image's own process, not this test's, so that
// -race does not slow the compression of a 100 MB layer tenfold.
func TestImage(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Fatalf("the image is a Linux image: run this test on linux, not %s", runtime.GOOS)
	}
	// Minutes of compiling are wasted if the image cannot be run at the
	// end: try a user namespace and a chroot first.
	if err := probeContainer(); err != nil {
		t.Fatalf("running a command chrooted in a new user namespace: %v\n%s", err, containerHint())
	}
	readTree(t, "../..")
	ctx := t.Context()
	p := ociimage.Platform{OS: "linux", Arch: runtime.GOARCH}
	meta := ociimage.Metadata{Version: "v0.0.0-test.1", Revision: "0123456789abcdef0123456789abcdef01234567", Created: time.Unix(1700000000, 0).UTC()}

	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	pushRef := strings.TrimPrefix(reg.URL, "http://") + "/vane:test"

	tool := filepath.Join(t.TempDir(), "vane-image")
	// (-buildvcs=false: a checkout git will not read, such as one owned
	// by another user than the test's, must not fail the build of the tool.)
	if out, err := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", tool, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/vane-image: %v\n%s", err, out)
	}
	// VCS stamping on, so that the check of the binary below shows that
	// vane-image turns it off (this machine's go env may turn it off too).
	goflags, err := exec.CommandContext(ctx, "go", "env", "GOFLAGS").Output()
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "GOFLAGS="+strings.TrimSpace(string(goflags))+" -buildvcs=true")
	var res [2]jsonResult
	for i := range res {
		start := time.Now()
		args := []string{"-C", "../..", "-platforms", p.String(), "-version", meta.Version, "-revision", meta.Revision,
			"-source-date-epoch", "1700000000", "-out", filepath.Join(t.TempDir(), "image"), "-json"}
		if i == 1 {
			args = append(args, "-push", pushRef)
		}
		var stdout bytes.Buffer
		cmd := exec.CommandContext(ctx, tool, args...)
		cmd.Stdout, cmd.Stderr, cmd.Env = &stdout, t.Output(), env
		if err := cmd.Run(); err != nil {
			t.Fatalf("vane-image %s: %v", strings.Join(args, " "), err)
		}
		if err := json.Unmarshal(stdout.Bytes(), &res[i]); err != nil || len(res[i].Platforms) != 1 {
			t.Fatalf("vane-image -json printed %q (%v), want one platform", stdout.String(), err)
		}
		t.Logf("build %d took %s", i+1, time.Since(start).Round(time.Millisecond))
	}
	r := res[0]
	pr := r.Platforms[0]
	t.Logf("index %s, %s image %s: binary %d bytes, layer %d bytes compressed", r.Index, p, pr.Digest, pr.BinaryBytes, pr.LayerBytes)
	if pr.Platform != p.String() || !strings.HasSuffix(pr.Tarball, "vane-linux-"+p.Arch+".tar") || res[1].Pushed == "" {
		t.Fatalf("vane-image -json: %+v", res)
	}
	indexDigest, err := v1.NewHash(r.Index)
	if err != nil {
		t.Fatal(err)
	}
	imageDigest, err := v1.NewHash(pr.Digest)
	if err != nil {
		t.Fatal(err)
	}

	// Reproducible: the same digests, and the same tarball bytes.
	if res[1].Index != r.Index || res[1].Platforms[0].Digest != pr.Digest {
		t.Fatalf("two builds of the same tree differ: index %s and %s, image %s and %s",
			r.Index, res[1].Index, pr.Digest, res[1].Platforms[0].Digest)
	}
	if a, b := fileSHA256(t, pr.Tarball), fileSHA256(t, res[1].Platforms[0].Tarball); a != b {
		t.Fatalf("two builds' docker load tarballs differ: sha256 %s and %s", a, b)
	}

	// The docker load tarball, read back.
	tagged, err := name.NewTag("vane:" + meta.Version)
	if err != nil {
		t.Fatal(err)
	}
	fromTar, err := tarball.ImageFromPath(pr.Tarball, &tagged)
	if err != nil {
		t.Fatalf("reading the docker load tarball %s back as %s: %v", pr.Tarball, tagged, err)
	}
	checkImage(t, "docker load tarball", fromTar, p, meta)

	// The OCI layout: one index, tagged, holding the platform's image.
	lp, err := layout.FromPath(r.Layout)
	if err != nil {
		t.Fatal(err)
	}
	top, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	topManifest, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(topManifest.Manifests) != 1 || topManifest.Manifests[0].Digest != indexDigest ||
		topManifest.Manifests[0].MediaType != types.OCIImageIndex ||
		topManifest.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != meta.Version {
		t.Fatalf("index.json of %s: %+v, want one OCI index %s named %s", r.Layout, topManifest.Manifests, r.Index, meta.Version)
	}
	idx, err := top.ImageIndex(indexDigest)
	if err != nil {
		t.Fatal(err)
	}
	checkIndex(t, "OCI layout", idx, indexDigest, p, imageDigest, meta)

	// Pushed by the second build, pulled back by digest.
	pushed, err := name.ParseReference(res[1].Pushed)
	if err != nil {
		t.Fatalf("pushed reference %q: %v", res[1].Pushed, err)
	}
	remoteIdx, err := remote.Index(pushed, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("pulling %s back: %v", pushed, err)
	}
	checkIndex(t, "registry", remoteIdx, indexDigest, p, imageDigest, meta)

	// The layer's files, from the OCI layout; the tarball holds the same
	// layer (the same diff ID; `docker save` tarballs record no media type).
	img, err := idx.Image(imageDigest)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	tarLayers, err := fromTar.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 || len(tarLayers) != 1 {
		t.Fatalf("the image has %d layers, the tarball's %d, want 1", len(layers), len(tarLayers))
	}
	if a, b := diffID(t, layers[0]), diffID(t, tarLayers[0]); a != b {
		t.Fatalf("the layout's layer %s and the tarball's %s differ", a, b)
	}
	// The image's root directory, as a runtime makes it: root's, 0755.
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(pr.Binary)
	if err != nil {
		t.Fatal(err)
	}
	checkLayer(t, layers[0], meta.Created, bin, rootfs)

	checkStatic(t, filepath.Join(rootfs, "vane"), p)

	// `vane version`, from the image's root, as its user.
	var out bytes.Buffer
	cmd := containerCommand(t, rootfs, append(ociimage.Entrypoint(), "version", "--json"))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("/vane version --json in the image's root as uid %d: %v\n%s\n%s", imageUID, err, out.String(), containerHint())
	}
	var ver struct{ Version, OS, Arch string }
	if err := json.Unmarshal(out.Bytes(), &ver); err != nil {
		t.Fatalf("vane version --json: %v\n%s", err, out.String())
	}
	if ver.Version != meta.Version || ver.OS != p.OS || ver.Arch != p.Arch {
		t.Fatalf("vane version --json from the image = %+v, want version %s on %s", ver, meta.Version, p)
	}

	runImage(t, rootfs, meta)
}

// checkIndex checks an index holds exactly the platform's image, with the
// image's contract.
func checkIndex(t *testing.T, where string, idx v1.ImageIndex, want v1.Hash, p ociimage.Platform, imgDigest v1.Hash, meta ociimage.Metadata) {
	t.Helper()
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if d != want || m.MediaType != types.OCIImageIndex || len(m.Manifests) != 1 {
		t.Fatalf("%s: index %s (%s, %d manifests), want %s (OCI, 1)", where, d, m.MediaType, len(m.Manifests), want)
	}
	desc := m.Manifests[0]
	if desc.Digest != imgDigest || desc.MediaType != types.OCIManifestSchema1 || desc.Platform == nil ||
		desc.Platform.OS != p.OS || desc.Platform.Architecture != p.Arch {
		t.Fatalf("%s: index entry %+v, want OCI manifest %s for %s", where, desc, imgDigest, p)
	}
	if m.Annotations["org.opencontainers.image.version"] != meta.Version || m.Annotations["org.opencontainers.image.revision"] != meta.Revision {
		t.Errorf("%s: index annotations %v lack the version and revision", where, m.Annotations)
	}
	img, err := idx.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, where, img, p, meta)
}

// checkImage checks an image's config against the image's contract.
func checkImage(t *testing.T, where string, img v1.Image, p ociimage.Platform, meta ociimage.Metadata) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("%s: config: %v", where, err)
	}
	c := cf.Config
	if c.User != "65532:65532" {
		t.Errorf("%s: user %q, want 65532:65532", where, c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/vane"}) || !slices.Equal(c.Cmd, []string{"run", "-c", "/etc/vane/vane.yaml"}) {
		t.Errorf("%s: entrypoint %q, cmd %q", where, c.Entrypoint, c.Cmd)
	}
	if !reflect.DeepEqual(c.ExposedPorts, map[string]struct{}{"8080/tcp": {}, "18000/tcp": {}}) {
		t.Errorf("%s: exposed ports %v, want 8080/tcp and 18000/tcp", where, c.ExposedPorts)
	}
	if len(c.Env) != 0 || c.Shell != nil || c.Healthcheck != nil {
		t.Errorf("%s: env %q, shell %q, healthcheck %v: want none", where, c.Env, c.Shell, c.Healthcheck)
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.title":       "vane",
		"org.opencontainers.image.description": ociimage.Labels(meta)["org.opencontainers.image.description"],
		"org.opencontainers.image.version":     meta.Version,
		"org.opencontainers.image.revision":    meta.Revision,
		"org.opencontainers.image.source":      "https://github.com/vaneproj/vane",
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.created":     "2023-11-14T22:13:20Z",
	}
	if !reflect.DeepEqual(c.Labels, wantLabels) {
		t.Errorf("%s: labels %v, want %v", where, c.Labels, wantLabels)
	}
	if cf.OS != p.OS || cf.Architecture != p.Arch || !cf.Created.Time.Equal(meta.Created) {
		t.Errorf("%s: %s/%s created %s, want %s created %s", where, cf.OS, cf.Architecture, cf.Created.Time, p, meta.Created)
	}
	if len(cf.History) != 1 || !cf.History[0].Created.Time.Equal(meta.Created) || len(cf.RootFS.DiffIDs) != 1 {
		t.Errorf("%s: history %+v, diff IDs %v: want one of each at %s", where, cf.History, cf.RootFS.DiffIDs, meta.Created)
	}
}

// checkLayer checks the layer holds exactly /tmp and /vane, as they
// should be, and extracts it into rootfs.
func checkLayer(t *testing.T, l v1.Layer, created time.Time, bin []byte, rootfs string) {
	t.Helper()
	mt, err := l.MediaType()
	if err != nil || mt != types.OCILayer {
		t.Errorf("layer media type %s (%v), want %s", mt, err, types.OCILayer)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the layer: %v", err)
		}
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(created) {
			t.Errorf("layer entry %s: owner %d:%d, time %s; want 0:0 at %s", h.Name, h.Uid, h.Gid, h.ModTime, created)
		}
		dst := filepath.Join(rootfs, h.Name)
		switch h.Name {
		case "tmp/":
			if h.Typeflag != tar.TypeDir || h.FileInfo().Mode() != os.ModeDir|os.ModeSticky|0o777 {
				t.Errorf("layer entry tmp/: %v, want a directory drwxrwxrwt", h.FileInfo().Mode())
			}
			if err := os.Mkdir(dst, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dst, h.FileInfo().Mode()); err != nil {
				t.Fatal(err)
			}
		case "vane":
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag != tar.TypeReg || h.FileInfo().Mode() != 0o755 || !bytes.Equal(data, bin) {
				t.Errorf("layer entry vane: %v, %d bytes; want -rwxr-xr-x, the %d bytes of the built binary", h.FileInfo().Mode(), len(data), len(bin))
			}
			if err := os.WriteFile(dst, data, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dst, h.FileInfo().Mode()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !slices.Equal(names, []string{"tmp/", "vane"}) {
		t.Fatalf("layer entries %q, want exactly tmp/ and vane (no shell, nothing else)", names)
	}
}

// checkStatic checks the binary needs no C library nor anything else from
// an image (no ELF interpreter, no dynamic section), was built as the
// image's binary must be, and carries the CA roots a scratch image lacks.
func checkStatic(t *testing.T, path string, p ociimage.Platform) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP || prog.Type == elf.PT_DYNAMIC {
			t.Errorf("/vane has an ELF %s program header: it is not static", prog.Type)
		}
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	settings := make(map[string]string)
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	// (-trimpath leaves -ldflags out; `vane version` shows the version.)
	want := map[string]string{"CGO_ENABLED": "0", "-trimpath": "true", "GOOS": p.OS, "GOARCH": p.Arch}
	for k, v := range want {
		if settings[k] != v {
			t.Errorf("/vane was built with %s=%q, want %q", k, settings[k], v)
		}
	}
	if v, ok := settings["vcs.modified"]; ok {
		t.Errorf("/vane records the checkout's state (vcs.modified=%s): build it with -buildvcs=false", v)
	}
	if bi.Path != "github.com/vaneproj/vane/cmd/vane" {
		t.Errorf("/vane is %s, want github.com/vaneproj/vane/cmd/vane", bi.Path)
	}
	if !slices.ContainsFunc(bi.Deps, func(m *debug.Module) bool { return m.Path == "golang.org/x/crypto/x509roots/fallback" }) {
		t.Errorf("/vane lacks golang.org/x/crypto/x509roots/fallback: on scratch it could verify no public TLS certificate")
	}
}

// containerCommand runs argv (argv[0] a path in the image) with rootfs as
// its root directory and / as its working directory, as uid and gid 65532
// in a new user namespace (65532 there is 65532 on the host when the test
// runs as root, else the test's own user), with the environment Docker
// gives a container of an image that sets none.
func containerCommand(t *testing.T, rootfs string, argv []string) *exec.Cmd {
	t.Helper()
	hostUID, hostGID := os.Getuid(), os.Getgid()
	if hostUID == 0 {
		hostUID, hostGID = imageUID, imageUID
	}
	cmd := &exec.Cmd{Path: argv[0], Args: argv, Dir: "/"}
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=vane-image-test", "HOME=/"}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:      rootfs,
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: imageUID, HostID: hostUID, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: imageUID, HostID: hostGID, Size: 1}},
		Credential:  &syscall.Credential{Uid: imageUID, Gid: imageUID, NoSetGroups: true},
		Pdeathsig:   syscall.SIGKILL,
	}
	return cmd
}

// readTree reads every file of the module's tree that a build of vane may
// read (all but .git, the test tools and build outputs). The builds run in
// other processes, whose reads go test does not see; read here, the files
// are among the test's inputs, so that go test does not reuse a cached
// pass of this test after a change to vane's code.
func readTree(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		// (Other packages' tests, run at the same time, may remove files
		// they made in the tree.)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".tools", "bin", "dist":
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			if _, err := os.ReadFile(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the module's tree: %v", err)
	}
}

// probeContainer runs this test binary, running no test, chrooted to / in
// a new user namespace (as root there, mapped to the test's user): what
// containerCommand needs of the kernel and of the sandbox the test runs in.
func probeContainer() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:      "/",
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	return nil
}

// containerHint says what running the image's binary as a container does
// needs, for a failure to start it.
func containerHint() string {
	if os.Getuid() == 0 {
		return "This test runs the image's binary chrooted in a new user namespace, which root may do unless a sandbox forbids it: " +
			"in a Docker container, whose default seccomp profile blocks user namespaces, run it with --security-opt seccomp=unconfined " +
			"(or --privileged); check also sysctl user.max_user_namespaces > 0."
	}
	return "This test runs the image's binary chrooted in a new user namespace: run it as root, or allow unprivileged user namespaces " +
		"(sysctl kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu 23.10+, kernel.unprivileged_userns_clone=1 on older Debian, " +
		"user.max_user_namespaces > 0); in a Docker container also --security-opt seccomp=unconfined."
}

// runImage runs the image's entrypoint and command in rootfs with a
// vane.yaml at the command's path, and checks it serves, uses the image's
// /tmp, and stops cleanly on SIGTERM.
func runImage(t *testing.T, rootfs string, meta ociimage.Metadata) {
	t.Helper()
	httpAddr, err := tools.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	xdsAddr, err := tools.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(rootfs, ociimage.ConfigPath)
	if err := os.MkdirAll(filepath.Join(filepath.Dir(conf), "slos"), 0o755); err != nil {
		t.Fatal(err)
	}
	spec, err := os.ReadFile("../../examples/slos/native-api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(conf), "slos", "api.yaml"), spec, 0o644); err != nil {
		t.Fatal(err)
	}
	// /etc/vane is read-only to the image's user, as a mounted ConfigMap
	// is: the store and the embedded Prometheus (no prometheus.url) are
	// told to write under /tmp, and the SLOs' rule file goes to the
	// temporary directory, /tmp.
	if err := os.WriteFile(conf, fmt.Appendf(nil, `xds:
  listen: %s
http:
  listen: %s
store:
  path: /tmp/vane-data/vane.db
prometheus:
  data_dir: /tmp/vane-data/prometheus
slos: [slos/api.yaml]
services:
  - name: checkout
    stable: {version: v1, endpoints: ["127.0.0.1:9001"]}
    rollout:
      analysis:
        requests_metric: grpc_server_handled_total
`, xdsAddr, httpAddr), 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := containerCommand(t, rootfs, append(ociimage.Entrypoint(), ociimage.Cmd()...))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = t.Output()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %q in the image's root: %v", cmd.Args, err)
	}
	exited := make(chan error, 1)
	logDone := make(chan struct{})
	var logs syncBuffer
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(t.Output(), sc.Text())
			logs.WriteString(sc.Text() + "\n")
		}
	}()
	go func() {
		<-logDone
		exited <- cmd.Wait()
	}()
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()

	base := "http://" + httpAddr
	for _, path := range []string{"/healthz", "/readyz"} {
		deadline := time.Now().Add(60 * time.Second)
		for {
			code, body, err := get(t.Context(), base+path)
			if err == nil && code == http.StatusOK {
				t.Logf("GET %s: %d %s", path, code, strings.TrimSpace(body))
				break
			}
			select {
			case err := <-exited:
				stopped = true
				t.Fatalf("vane run exited before %s answered 200: %v\n%s", path, err, logs.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: %d %q %v, not 200 within 60 s", path, code, body, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	code, body, err := get(t.Context(), base+"/metrics")
	if err != nil || code != http.StatusOK || !strings.Contains(body, fmt.Sprintf(`vane_build_info{goversion=%q,version=%q} 1`, runtime.Version(), meta.Version)) {
		t.Errorf("GET /metrics: %d %v, want vane_build_info with version %s", code, err, meta.Version)
	}
	for _, f := range []string{"vane-data/vane.db", "vane-data/prometheus/wal", "vane-slo-rules-*.yaml"} {
		if m, err := filepath.Glob(filepath.Join(rootfs, "tmp", f)); err != nil || len(m) != 1 {
			t.Errorf("/tmp/%s in the image's root: %q (%v), want one", f, m, err)
		}
	}

	// Kubernetes stops a container with SIGTERM.
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Fatalf("vane run after SIGTERM: %v, want exit status 0\n%s", err, logs.String())
		}
		t.Logf("vane run stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	case <-time.After(20 * time.Second):
		t.Fatalf("vane run still running 20 s after SIGTERM (the Deployment's grace period)\n%s", logs.String())
	}
	if left, _ := filepath.Glob(filepath.Join(rootfs, "tmp", "vane-slo-rules-*")); len(left) != 0 {
		t.Errorf("the SLOs' rule file is left in /tmp after a clean stop: %q", left)
	}
}

func diffID(t *testing.T, l v1.Layer) v1.Hash {
	t.Helper()
	h, err := l.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// get GETs url, giving up after 10 s (a server that accepts and never
// answers must not hold the test until go test's timeout).
func get(ctx context.Context, url string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// syncBuffer is a strings.Builder for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) WriteString(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(v)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
