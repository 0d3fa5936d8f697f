package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// kustomization is the part of kustomize's Kustomization that these
// manifests use. It is decoded strictly too: a field kustomize knows but
// this struct does not is an error, so add it here when a manifest starts
// using it (and a check for it, if it matters).
type kustomization struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Namespace  string           `json:"namespace,omitempty"`
	NamePrefix string           `json:"namePrefix,omitempty"`
	NameSuffix string           `json:"nameSuffix,omitempty"`
	Labels     []kustomizeLabel `json:"labels,omitempty"`
	Resources  []string         `json:"resources,omitempty"`
	Patches    []kustomizePatch `json:"patches,omitempty"`
	Images     []kustomizeImage `json:"images,omitempty"`
}

type kustomizeLabel struct {
	Pairs            map[string]string `json:"pairs"`
	IncludeSelectors bool              `json:"includeSelectors,omitempty"`
	IncludeTemplates bool              `json:"includeTemplates,omitempty"`
}

type kustomizePatch struct {
	Path   string           `json:"path,omitempty"`
	Patch  string           `json:"patch,omitempty"`
	Target *kustomizeTarget `json:"target,omitempty"`
}

type kustomizeTarget struct {
	Group   string `json:"group,omitempty"`
	Version string `json:"version,omitempty"`
	Kind    string `json:"kind,omitempty"`
	Name    string `json:"name,omitempty"`
}

type kustomizeImage struct {
	Name    string `json:"name"`
	NewName string `json:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

// document is one decoded YAML document.
type document struct {
	where string // "base/cronjob.yaml#0": file (relative to deploy/) and index
	kind  string
	name  string
	obj   any // *batchv1.CronJob, *batchv1.Job, *corev1.Secret, ...
}

// apiTypes maps "apiVersion kind" to a new value of its Kubernetes API type.
// A kind missing here is an error: add it, with its checks.
var apiTypes = map[string]func() any{
	"batch/v1 CronJob":         func() any { return &batchv1.CronJob{} },
	"batch/v1 Job":             func() any { return &batchv1.Job{} },
	"v1 PersistentVolumeClaim": func() any { return &corev1.PersistentVolumeClaim{} },
	"v1 Secret":                func() any { return &corev1.Secret{} },
	"v1 ConfigMap":             func() any { return &corev1.ConfigMap{} },
}

// strictUnmarshal decodes YAML into v the way the API server decodes a
// request with strict field validation: the YAML becomes JSON as kubectl
// sends it (no type coercion: a number is not a string), then
// sigs.k8s.io/json, the API server's decoder, reads it case-sensitively.
// Unknown fields (misspellings, wrong case), duplicate keys and values of
// the wrong type are errors; unknown fields are named by their path.
func strictUnmarshal(data []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	strictErrs, err := sigsjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

// decodeObject strictly decodes one YAML document into its Kubernetes API
// type (see strictUnmarshal).
func decodeObject(data []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(data, &tm); err != nil {
		return nil, fmt.Errorf("read apiVersion and kind: %w", err)
	}
	newObj, ok := apiTypes[tm.APIVersion+" "+tm.Kind]
	if !ok {
		return nil, fmt.Errorf("apiVersion %q kind %q: not a type this test knows (add it to apiTypes)", tm.APIVersion, tm.Kind)
	}
	obj := newObj()
	if err := strictUnmarshal(data, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	return obj, nil
}

// decodeKustomization strictly decodes a kustomization.yaml.
func decodeKustomization(data []byte) (*kustomization, error) {
	var k kustomization
	if err := strictUnmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("Kustomization: %w", err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		return nil, fmt.Errorf("Kustomization: apiVersion %q kind %q; want kustomize.config.k8s.io/v1beta1 Kustomization", k.APIVersion, k.Kind)
	}
	return &k, nil
}

// splitDocuments splits a multi-document YAML stream at its "---" lines and
// drops documents that hold only comments and blank lines.
func splitDocuments(data []byte) [][]byte {
	var (
		docs [][]byte
		cur  bytes.Buffer
		real bool // cur has a line that is not a comment or blank
	)
	flush := func() {
		if real {
			docs = append(docs, bytes.Clone(cur.Bytes()))
		}
		cur.Reset()
		real = false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "---" || strings.HasPrefix(line, "--- ") {
			flush()
			continue
		}
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			real = true
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	flush()
	return docs
}

// decodeStream decodes every document of a YAML stream; where names the
// stream in messages.
func decodeStream(where string, data []byte) ([]document, []error) {
	var (
		docs []document
		errs []error
	)
	for i, d := range splitDocuments(data) {
		at := fmt.Sprintf("%s#%d", where, i)
		obj, err := decodeObject(d)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", at, err))
			continue
		}
		m := objectMeta(obj)
		docs = append(docs, document{where: at, kind: kindOf(obj), name: m.Name, obj: obj})
	}
	return docs, errs
}

func kindOf(obj any) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", obj), "*v1.")
}

func objectMeta(obj any) metav1.ObjectMeta {
	switch o := obj.(type) {
	case *batchv1.CronJob:
		return o.ObjectMeta
	case *batchv1.Job:
		return o.ObjectMeta
	case *corev1.PersistentVolumeClaim:
		return o.ObjectMeta
	case *corev1.Secret:
		return o.ObjectMeta
	case *corev1.ConfigMap:
		return o.ObjectMeta
	}
	panic(fmt.Sprintf("objectMeta: unexpected %T", obj))
}

// kdir is one kustomization directory, loaded.
type kdir struct {
	dir       string // relative to deploy/, slash-separated
	k         *kustomization
	bases     []string // directories among its resources
	resources []document
	patches   []document
}

// tree is every kustomization under deploy/ and the files they use.
type tree struct {
	dirs map[string]*kdir
	used map[string]bool // files referenced by a kustomization
}

// loadTree reads every kustomization.yaml under root and what it refers
// to. Every problem is reported with t.Errorf; the tree holds what could be
// read.
func loadTree(t *testing.T, root string) *tree {
	t.Helper()
	tr := &tree{dirs: map[string]*kdir{}, used: map[string]bool{}}
	var kfiles []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == "kustomization.yaml" {
			kfiles = append(kfiles, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	if len(kfiles) == 0 {
		t.Fatalf("no kustomization.yaml under %s", root)
	}
	for _, kf := range kfiles {
		dir := filepath.Dir(kf)
		rel := relTo(t, root, dir)
		data, err := os.ReadFile(kf)
		if err != nil {
			t.Errorf("read %s: %v", kf, err)
			continue
		}
		k, err := decodeKustomization(data)
		if err != nil {
			t.Errorf("%s/kustomization.yaml: %v", rel, err)
			continue
		}
		kd := &kdir{dir: rel, k: k}
		tr.dirs[rel] = kd
		for _, r := range k.Resources {
			p := filepath.Join(dir, r)
			fi, err := os.Stat(p)
			if err != nil {
				t.Errorf("%s/kustomization.yaml: resource %q: %v", rel, r, err)
				continue
			}
			if fi.IsDir() {
				if _, err := os.Stat(filepath.Join(p, "kustomization.yaml")); err != nil {
					t.Errorf("%s/kustomization.yaml: resource %q is a directory without kustomization.yaml", rel, r)
					continue
				}
				kd.bases = append(kd.bases, relTo(t, root, p))
				continue
			}
			kd.resources = append(kd.resources, loadFile(t, root, p, tr)...)
		}
		for i, pt := range k.Patches {
			switch {
			case pt.Path != "" && pt.Patch != "":
				t.Errorf("%s/kustomization.yaml: patch %d has both path and patch", rel, i)
			case pt.Path != "":
				kd.patches = append(kd.patches, loadFile(t, root, filepath.Join(dir, pt.Path), tr)...)
			case pt.Patch != "":
				docs, errs := decodeStream(fmt.Sprintf("%s/kustomization.yaml patch %d", rel, i), []byte(pt.Patch))
				for _, e := range errs {
					t.Error(e)
				}
				kd.patches = append(kd.patches, docs...)
			default:
				t.Errorf("%s/kustomization.yaml: patch %d has neither path nor patch", rel, i)
			}
		}
	}
	return tr
}

// loadFile decodes every document of the file at path and marks it used.
func loadFile(t *testing.T, root, path string, tr *tree) []document {
	t.Helper()
	rel := relTo(t, root, path)
	tr.used[rel] = true
	data, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("read %s: %v", rel, err)
		return nil
	}
	docs, errs := decodeStream(rel, data)
	for _, e := range errs {
		t.Error(e)
	}
	if len(docs) == 0 && len(errs) == 0 {
		t.Errorf("%s: no YAML document", rel)
	}
	return docs
}

func relTo(t *testing.T, root, path string) string {
	t.Helper()
	rel, err := filepath.Rel(root, path)
	if err != nil {
		t.Fatalf("relative path of %s: %v", path, err)
	}
	return filepath.ToSlash(rel)
}

// closure returns the documents of dir and of its bases, recursively: what
// its workloads may refer to. Patches are left out (they change fields, not
// which objects exist).
func (tr *tree) closure(dir string) ([]document, error) {
	var (
		out   []document
		visit func(d string, path []string) error
	)
	visit = func(d string, path []string) error {
		if slices.Contains(path, d) {
			return fmt.Errorf("kustomization cycle: %s", strings.Join(append(path, d), " -> "))
		}
		kd, ok := tr.dirs[d]
		if !ok {
			return fmt.Errorf("kustomization %s: not loaded", d)
		}
		out = append(out, kd.resources...)
		for _, b := range kd.bases {
			if err := visit(b, append(path, d)); err != nil {
				return err
			}
		}
		return nil
	}
	err := visit(dir, nil)
	return out, err
}

// sortedDirs returns the tree's directories in order, for stable subtests.
func (tr *tree) sortedDirs() []string {
	dirs := make([]string, 0, len(tr.dirs))
	for d := range tr.dirs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	return dirs
}

// objects indexes the objects a workload may refer to by name.
type objects struct {
	secrets    map[string]*corev1.Secret
	configMaps map[string]*corev1.ConfigMap
	pvcs       map[string]*corev1.PersistentVolumeClaim
}

func indexObjects(docs []document) (objects, error) {
	o := objects{
		secrets:    map[string]*corev1.Secret{},
		configMaps: map[string]*corev1.ConfigMap{},
		pvcs:       map[string]*corev1.PersistentVolumeClaim{},
	}
	var errs []error
	dup := func(d document) { errs = append(errs, fmt.Errorf("%s: a second %s named %q", d.where, d.kind, d.name)) }
	for _, d := range docs {
		switch obj := d.obj.(type) {
		case *corev1.Secret:
			if _, ok := o.secrets[d.name]; ok {
				dup(d)
			}
			o.secrets[d.name] = obj
		case *corev1.ConfigMap:
			if _, ok := o.configMaps[d.name]; ok {
				dup(d)
			}
			o.configMaps[d.name] = obj
		case *corev1.PersistentVolumeClaim:
			if _, ok := o.pvcs[d.name]; ok {
				dup(d)
			}
			o.pvcs[d.name] = obj
		}
	}
	return o, errors.Join(errs...)
}
