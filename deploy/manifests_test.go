package deploy

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestManifests decodes every kustomization under deploy/ strictly and
// checks every CronJob and Job in it against the objects it can see.
func TestManifests(t *testing.T) {
	tr := loadTree(t, ".")
	for _, want := range []string{"base", "migration", "examples/merchant-acme", "examples/indexed"} {
		if _, ok := tr.dirs[want]; !ok {
			t.Errorf("kustomization %s/ is missing", want)
		}
	}
	for _, dir := range tr.sortedDirs() {
		t.Run(dir, func(t *testing.T) {
			kd := tr.dirs[dir]
			docs, err := tr.closure(dir)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := indexObjects(docs)
			if err != nil {
				t.Error(err)
			}
			workloads := 0
			for _, d := range kd.resources {
				var p problems
				switch obj := d.obj.(type) {
				case *batchv1.CronJob:
					p = checkCronJob(obj, objs)
				case *batchv1.Job:
					p = checkJob(obj, objs)
				default:
					continue
				}
				workloads++
				for _, msg := range p {
					t.Errorf("%s (%s %s): %s", d.where, d.kind, d.name, msg)
				}
			}
			if workloads == 0 && len(kd.bases) == 0 {
				t.Errorf("%s has no CronJob or Job", dir)
			}
			// A strategic-merge patch must name an object that exists,
			// or kustomize refuses the directory.
			for _, pd := range kd.patches {
				if !slices.ContainsFunc(docs, func(d document) bool { return d.kind == pd.kind && d.name == pd.name }) {
					t.Errorf("%s: patch of %s %q matches no object of %s or its bases", pd.where, pd.kind, pd.name, dir)
				}
			}
			// The placeholder image "juicebatch" must be replaced by the
			// images entry of the kustomization that lists the workload:
			// a base's transformers do not reach an overlay's resources.
			if usesPlaceholderImage(kd.resources) && !slices.ContainsFunc(kd.k.Images, func(im kustomizeImage) bool {
				return im.Name == "juicebatch" && (im.NewTag != "" || im.Digest != "")
			}) {
				t.Errorf("%s: a container uses image %q but the kustomization has no images entry with a tag for it", dir, "juicebatch")
			}
		})
	}
}

// usesPlaceholderImage reports whether a workload runs the image named
// "juicebatch", which the kustomization's images entry rewrites.
func usesPlaceholderImage(docs []document) bool {
	for _, d := range docs {
		var pod corev1.PodSpec
		switch obj := d.obj.(type) {
		case *batchv1.CronJob:
			pod = obj.Spec.JobTemplate.Spec.Template.Spec
		case *batchv1.Job:
			pod = obj.Spec.Template.Spec
		default:
			continue
		}
		for _, c := range pod.Containers {
			if c.Image == "juicebatch" {
				return true
			}
		}
	}
	return false
}

// TestSecretsAreFake keeps real API keys out of the repository: every
// Secret value under deploy/ must say it is a placeholder.
func TestSecretsAreFake(t *testing.T) {
	tr := loadTree(t, ".")
	n := 0
	for _, dir := range tr.sortedDirs() {
		kd := tr.dirs[dir]
		for _, d := range slices.Concat(kd.resources, kd.patches) {
			s, ok := d.obj.(*corev1.Secret)
			if !ok {
				continue
			}
			values := map[string]string{}
			for k, v := range s.StringData {
				values[k] = v
			}
			for k, v := range s.Data {
				values[k] = string(v)
			}
			for k, v := range values {
				n++
				if !strings.Contains(v, "REPLACE-ME") || !strings.Contains(v, "not-a-real-key") {
					t.Errorf("%s: Secret %q key %q does not look like a placeholder; real keys stay out of git (kubectl create secret)", d.where, s.Name, k)
				}
			}
		}
	}
	if n == 0 {
		t.Error("no Secret value found; the base should ship a placeholder key")
	}
}

// TestMappings checks every JSON mapping in a ConfigMap, used by a
// workload or not.
func TestMappings(t *testing.T) {
	tr := loadTree(t, ".")
	n := 0
	for _, dir := range tr.sortedDirs() {
		for _, d := range tr.dirs[dir].resources {
			cm, ok := d.obj.(*corev1.ConfigMap)
			if !ok {
				continue
			}
			for k, v := range cm.Data {
				if !strings.HasSuffix(k, ".json") {
					continue
				}
				n++
				if err := validMapping([]byte(v)); err != nil {
					t.Errorf("%s: ConfigMap %q key %q: %v", d.where, cm.Name, k, err)
				}
			}
		}
	}
	if n == 0 {
		t.Error("no mapping found in any ConfigMap")
	}
}

// TestEveryYAMLFileIsUsed makes sure no manifest escapes the checks: every
// YAML file under deploy/ is a kustomization or is referenced by one.
func TestEveryYAMLFileIsUsed(t *testing.T) {
	tr := loadTree(t, ".")
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel := filepath.ToSlash(path)
		switch {
		case strings.HasSuffix(rel, ".yml"):
			t.Errorf("%s: name YAML files *.yaml", rel)
		case d.Name() == "kustomization.yaml", !strings.HasSuffix(rel, ".yaml"):
		case !tr.used[rel]:
			t.Errorf("%s is not a resource or patch of any kustomization, so nothing checks it", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDecoderRejects proves the strict decoding fails where it should: the
// same functions that read the manifests get broken documents.
func TestDecoderRejects(t *testing.T) {
	const cronJob = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: x
spec:
  schedule: "30 1 * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      backoffLimit: 2
      template:
        spec:
          restartPolicy: Never
          terminationGracePeriodSeconds: 60
          containers:
            - name: juicebatch
              image: juicebatch
              securityContext:
                runAsNonRoot: true
`
	tests := []struct {
		name    string
		doc     string
		kust    bool   // decode as a kustomization.yaml
		wantErr string // "" = must decode
	}{
		{name: "valid CronJob", doc: cronJob},
		{
			name:    "misspelt concurrencyPolicy",
			doc:     strings.Replace(cronJob, "concurrencyPolicy:", "concurencyPolicy:", 1),
			wantErr: `unknown field "spec.concurencyPolicy"`,
		},
		{
			name:    "backoffLimit as a string",
			doc:     strings.Replace(cronJob, "backoffLimit: 2", `backoffLimit: "3"`, 1),
			wantErr: "backoffLimit",
		},
		{
			name:    "misspelt field deep in the pod",
			doc:     strings.Replace(cronJob, "terminationGracePeriodSeconds:", "terminationGracePeriodSecond:", 1),
			wantErr: `unknown field "spec.jobTemplate.spec.template.spec.terminationGracePeriodSecond"`,
		},
		{
			name:    "field name in the wrong case",
			doc:     strings.Replace(cronJob, "concurrencyPolicy:", "ConcurrencyPolicy:", 1),
			wantErr: `unknown field "spec.ConcurrencyPolicy"`,
		},
		{
			name:    "number where a string belongs",
			doc:     strings.Replace(cronJob, "image: juicebatch", "image: 7", 1),
			wantErr: "image",
		},
		{
			name:    "boolean as a string",
			doc:     strings.Replace(cronJob, "runAsNonRoot: true", `runAsNonRoot: "yes"`, 1),
			wantErr: "runAsNonRoot",
		},
		{
			name:    "duplicate key",
			doc:     strings.Replace(cronJob, "  concurrencyPolicy: Forbid\n", "  concurrencyPolicy: Forbid\n  concurrencyPolicy: Allow\n", 1),
			wantErr: "concurrencyPolicy",
		},
		{
			name:    "field of another kind",
			doc:     strings.Replace(cronJob, "  schedule:", "  parallelism: 2\n  schedule:", 1),
			wantErr: `unknown field "spec.parallelism"`,
		},
		{
			name:    "unknown kind",
			doc:     "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n",
			wantErr: "not a type this test knows",
		},
		{
			name:    "PVC with a misspelt access mode field",
			doc:     "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: x\nspec:\n  accessMode: [ReadWriteOnce]\n",
			wantErr: `unknown field "spec.accessMode"`,
		},
		{
			name:    "Secret data that is not base64",
			doc:     "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\ndata:\n  api-key: not base64!\n",
			wantErr: "illegal base64",
		},
		{name: "valid kustomization", kust: true, doc: "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - cronjob.yaml\n"},
		{
			name: "misspelt kustomization field", kust: true,
			doc:     "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresource:\n  - cronjob.yaml\n",
			wantErr: `unknown field "resource"`,
		},
		{
			name: "kustomization field of the wrong type", kust: true,
			doc:     "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: cronjob.yaml\n",
			wantErr: "resources",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.kust {
				_, err = decodeKustomization([]byte(tt.doc))
			} else {
				_, err = decodeObject([]byte(tt.doc))
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("decode = %v; want nil", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("decode = nil; want an error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("decode = %q; want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestSplitDocuments checks the multi-document splitter.
func TestSplitDocuments(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"one", "a: 1\n", []string{"a: 1\n"}},
		{"two", "a: 1\n---\nb: 2\n", []string{"a: 1\n", "b: 2\n"}},
		{"leading separator and comment-only part", "# only a comment\n---\na: 1\n--- # end\n\n", []string{"a: 1\n"}},
		{"separator-like text inside a block scalar stays", "a: |\n  x\n  ---\n", []string{"a: |\n  x\n  ---\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, d := range splitDocuments([]byte(tt.in)) {
				got = append(got, string(d))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("splitDocuments(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestChecksCatch proves the workload checks fail where they should: each
// case breaks one thing in the base CronJob.
func TestChecksCatch(t *testing.T) {
	tr := loadTree(t, ".")
	docs, err := tr.closure("base")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := indexObjects(docs)
	if err != nil {
		t.Fatal(err)
	}
	var base *batchv1.CronJob
	for _, d := range docs {
		if cj, ok := d.obj.(*batchv1.CronJob); ok {
			base = cj
		}
	}
	if base == nil {
		t.Fatal("base has no CronJob")
	}
	if p := checkCronJob(base, objs); len(p) != 0 {
		t.Fatalf("the base CronJob itself has problems: %q", p)
	}
	podOf := func(cj *batchv1.CronJob) *corev1.PodSpec { return &cj.Spec.JobTemplate.Spec.Template.Spec }
	mainOf := func(cj *batchv1.CronJob) *corev1.Container { return findContainer(podOf(cj).Containers, mainContainer) }
	setArg := func(cj *batchv1.CronJob, prefix, arg string) {
		c := mainOf(cj)
		for i, a := range c.Args {
			if strings.HasPrefix(a, prefix) {
				c.Args[i] = arg
				return
			}
		}
		t.Fatalf("base CronJob has no arg %s", prefix)
	}
	i64 := func(v int64) *int64 { return &v }
	tests := []struct {
		name   string
		break_ func(cj *batchv1.CronJob)
		want   string
	}{
		{"concurrency allowed", func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = batchv1.AllowConcurrent }, "want Forbid"},
		{"no starting deadline", func(cj *batchv1.CronJob) { cj.Spec.StartingDeadlineSeconds = nil }, "startingDeadlineSeconds"},
		{"grace period equal to --grace", func(cj *batchv1.CronJob) { podOf(cj).TerminationGracePeriodSeconds = i64(20) }, "terminationGracePeriodSeconds 20 is not above --grace 20s"},
		{"--grace raised above the period", func(cj *batchv1.CronJob) { setArg(cj, "--grace=", "--grace=55s") }, "not above --grace 55s"},
		{"default period (30s) with --grace=25s", func(cj *batchv1.CronJob) {
			podOf(cj).TerminationGracePeriodSeconds = nil
			setArg(cj, "--grace=", "--grace=25s")
		}, "terminationGracePeriodSeconds 30 is not above --grace 25s"},
		{"misspelt flag", func(cj *batchv1.CronJob) { setArg(cj, "--api-key-file=", "--api-key=/etc/juicebatch/secret/api-key") }, "no flag --api-key"},
		{"key file not in the Secret", func(cj *batchv1.CronJob) { setArg(cj, "--api-key-file=", "--api-key-file=/etc/juicebatch/secret/key") }, `has no key "key"`},
		{"key file on no mount", func(cj *batchv1.CronJob) { setArg(cj, "--api-key-file=", "--api-key-file=/secrets/api-key") }, "on no volume"},
		{"mapping not in the ConfigMap", func(cj *batchv1.CronJob) { setArg(cj, "--map=", "--map=/etc/juicebatch/mapping/map.json") }, `has no key "map.json"`},
		{"state on the input emptyDir", func(cj *batchv1.CronJob) { setArg(cj, "--state=", "--state=/input/state.db") }, "read-only mount"},
		{"state on tmp", func(cj *batchv1.CronJob) { setArg(cj, "--state=", "--state=/tmp/state.db") }, "not a PersistentVolumeClaim"},
		{"value flag without =", func(cj *batchv1.CronJob) { setArg(cj, "--daily-budget=", "--daily-budget") }, "write value flags as --daily-budget=VALUE"},
		{"--wait in a CronJob", func(cj *batchv1.CronJob) { setArg(cj, "--daily-budget=", "--wait") }, "--wait in a CronJob"},
		{"undefined $(VAR)", func(cj *batchv1.CronJob) { setArg(cj, "--state=", "--state=/var/lib/juicebatch/$(MERCHANT)/state.db") }, "$(MERCHANT)"},
		{"restartPolicy OnFailure", func(cj *batchv1.CronJob) { podOf(cj).RestartPolicy = corev1.RestartPolicyOnFailure }, "want Never"},
		{"no podFailurePolicy", func(cj *batchv1.CronJob) { cj.Spec.JobTemplate.Spec.PodFailurePolicy = nil }, "no podFailurePolicy"},
		{"root allowed", func(cj *batchv1.CronJob) { f := false; podOf(cj).SecurityContext.RunAsNonRoot = &f }, "runAsNonRoot is not true"},
		{"writable root filesystem", func(cj *batchv1.CronJob) { f := false; mainOf(cj).SecurityContext.ReadOnlyRootFilesystem = &f }, "readOnlyRootFilesystem"},
		{"no memory limit", func(cj *batchv1.CronJob) { delete(mainOf(cj).Resources.Limits, corev1.ResourceMemory) }, "memory request and limit must both be set"},
		{"GOMEMLIMIT above the limit", func(cj *batchv1.CronJob) { mainOf(cj).Env[0].Value = "200MiB" }, "GOMEMLIMIT 200MiB is not below"},
		{"key file mode 0400", func(cj *batchv1.CronJob) {
			for i := range podOf(cj).Volumes {
				if s := podOf(cj).Volumes[i].Secret; s != nil {
					m := int32(0o400)
					s.DefaultMode = &m
				}
			}
		}, "hides the key"},
		{"input on an emptyDir nobody fills", func(cj *batchv1.CronJob) { podOf(cj).InitContainers = nil }, "which no init container writes"},
		{"no input file", func(cj *batchv1.CronJob) { c := mainOf(cj); c.Args = c.Args[:len(c.Args)-1] }, "want an input FILE"},
		{"CSV and NDJSON inputs", func(cj *batchv1.CronJob) { c := mainOf(cj); c.Args = append(c.Args, "/input/more.ndjson.gz") }, "mix CSV and NDJSON"},
		{"a shard on no mount", func(cj *batchv1.CronJob) { c := mainOf(cj); c.Args = append(c.Args, "/export/more.csv.gz") }, "input /export/more.csv.gz is on no volume"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cj := base.DeepCopy()
			tt.break_(cj)
			p := checkCronJob(cj, objs)
			if !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, tt.want) }) {
				t.Errorf("checkCronJob(broken: %s) = %q; want a problem containing %q", tt.name, p, tt.want)
			}
		})
	}
}

// TestKustomizeBuild renders every kustomization with `kubectl kustomize`
// and checks the result: that the patches apply, that the renamed objects
// still match what the workloads refer to, and that no two active
// workloads share a state file. It needs kubectl on PATH and is skipped
// without it; the checks above need nothing.
func TestKustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not on PATH; the rendered manifests are not checked")
	}
	tr := loadTree(t, ".")
	for _, dir := range tr.sortedDirs() {
		t.Run(dir, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, kubectl, "kustomize", dir)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr.String())
			}
			docs, errs := decodeStream("kubectl kustomize "+dir, out)
			for _, e := range errs {
				t.Error(e)
			}
			objs, err := indexObjects(docs)
			if err != nil {
				t.Error(err)
			}
			// state file (claim and path) -> the active workload using it
			stateUsers := map[string]string{}
			for _, d := range docs {
				var (
					p    problems
					pod  corev1.PodSpec
					js   batchv1.JobSpec
					name = d.kind + " " + d.name
				)
				switch obj := d.obj.(type) {
				case *batchv1.CronJob:
					p = checkCronJob(obj, objs)
					js = obj.Spec.JobTemplate.Spec
					if ptrTrue(obj.Spec.Suspend) {
						name = "" // suspended: it takes no turn
					}
				case *batchv1.Job:
					p = checkJob(obj, objs)
					js = obj.Spec
				default:
					continue
				}
				for _, msg := range p {
					t.Errorf("%s: %s", d.where, msg)
				}
				pod = js.Template.Spec
				c := findContainer(pod.Containers, mainContainer)
				if c == nil {
					continue
				}
				if c.Image == "juicebatch" || !strings.Contains(c.Image, ":") {
					t.Errorf("%s: image %q; want the images entry's name and tag", d.where, c.Image)
				}
				if name == "" {
					continue
				}
				invs, _ := invocations(js, c, js.CompletionMode != nil && *js.CompletionMode == batchv1.IndexedCompletion)
				for _, inv := range invs {
					m, _ := mountFor(c, inv.flags["state"])
					if m == nil {
						continue
					}
					for _, v := range pod.Volumes {
						if v.Name != m.Name || v.PersistentVolumeClaim == nil {
							continue
						}
						key := v.PersistentVolumeClaim.ClaimName + ":" + inv.flags["state"]
						if other, ok := stateUsers[key]; ok && other != name {
							t.Errorf("%s and %s both use the state file %s on claim %s while active: one key, one job at a time",
								other, name, inv.flags["state"], v.PersistentVolumeClaim.ClaimName)
						}
						stateUsers[key] = name
					}
				}
			}
			if len(stateUsers) == 0 {
				t.Errorf("kubectl kustomize %s: no active workload with a state file", dir)
			}
		})
	}
}
