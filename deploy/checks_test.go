package deploy

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The container that runs juicebatch, in every workload.
const mainContainer = "juicebatch"

// defaultGrace is juicebatch's --grace default.
const defaultGrace = 20 * time.Second

// graceMargin is the time juicebatch needs after --grace to write the report
// and close the state file before Kubernetes kills it.
const graceMargin = 10 * time.Second

// Flags juicebatch apply accepts (README "The flags that matter", and
// cmd/juicebatch/flags.go), by whether they take a value. A flag missing
// here makes the binary exit 2 (usage), so it fails the test too.
var (
	valueFlags = []string{
		"map", "column", "format", "phone-region", "base-url", "api-key-file",
		"auth-scheme", "rate", "concurrency", "timeout", "max-retries",
		"daily-budget", "grace", "state", "report", "log-format", "log-level",
		"progress-interval",
		// issue 7: the metrics of a run.
		"metrics-push", "metrics-file",
		// reads before writes.
		"refresh", "read-rate",
	}
	boolFlags = []string{"strict", "empty-clears", "wait", "full", "new-run", "no-progress",
		"strict-values", "retry-rejected"}
)

// canonicalFields are the fields a mapping may name (README "Inputs").
var canonicalFields = []string{
	"id", "first_name", "last_name", "email", "phone_number",
	"billing_address.line1", "billing_address.line2", "billing_address.city",
	"billing_address.state", "billing_address.zip_code", "billing_address.country",
}

// completionIndexPath is the downward-API path of an Indexed Job's index.
const completionIndexPath = "metadata.annotations['batch.kubernetes.io/job-completion-index']"

// problems collects what is wrong with one workload.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// unique drops repeats (the same problem in every index of a Job).
func (p problems) unique() problems {
	var out problems
	for _, s := range p {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// invocation is juicebatch's command line in one pod of a workload, with
// $(VAR) references expanded.
type invocation struct {
	index      string // the completion index ("" when not Indexed)
	command    string
	flags      map[string]string
	positional []string
}

// checkCronJob checks a CronJob that runs juicebatch.
func checkCronJob(cj *batchv1.CronJob, objs objects) problems {
	var p problems
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		p.add("concurrencyPolicy is %q; want Forbid: one API key, one state file, one job at a time", cj.Spec.ConcurrencyPolicy)
	}
	if s := cj.Spec.StartingDeadlineSeconds; s == nil || *s <= 0 || *s >= 24*3600 {
		p.add("startingDeadlineSeconds = %s; want set, above 0 and below a day", ptrString(s))
	}
	if tz := cj.Spec.TimeZone; tz == nil || (*tz != "Etc/UTC" && *tz != "UTC") {
		p.add("timeZone = %s; want Etc/UTC: the daily budget is counted per UTC day", ptrString(tz))
	}
	p = append(p, checkJobSpec(cj.Spec.JobTemplate.Spec, objs, true)...)
	return p
}

// checkJob checks a Job that runs juicebatch.
func checkJob(j *batchv1.Job, objs objects) problems {
	return checkJobSpec(j.Spec, objs, false)
}

func checkJobSpec(js batchv1.JobSpec, objs objects, inCronJob bool) problems {
	var p problems
	pod := js.Template.Spec
	indexed := js.CompletionMode != nil && *js.CompletionMode == batchv1.IndexedCompletion

	if pod.RestartPolicy != corev1.RestartPolicyNever {
		p.add("restartPolicy is %q; want Never: a fresh pod per attempt, and podFailurePolicy needs it", pod.RestartPolicy)
	}
	if js.BackoffLimit == nil && js.BackoffLimitPerIndex == nil {
		p.add("neither backoffLimit nor backoffLimitPerIndex is set; the default (6) retries blindly")
	}
	if js.BackoffLimitPerIndex != nil && !indexed {
		p.add("backoffLimitPerIndex needs completionMode Indexed")
	}
	if js.PodReplacementPolicy == nil || *js.PodReplacementPolicy != batchv1.Failed {
		p.add("podReplacementPolicy = %s; want Failed: a replacement pod must wait until the old one has released the state file", ptrString(js.PodReplacementPolicy))
	}
	p = append(p, checkPodFailurePolicy(js, pod, indexed)...)

	c := findContainer(pod.Containers, mainContainer)
	if c == nil {
		p.add("no container named %q", mainContainer)
		return p
	}
	invs, ip := invocations(js, c, indexed)
	p = append(p, ip...)
	if len(invs) == 0 {
		return p
	}
	inv := invs[0]
	if inv.command != "apply" {
		p.add("command is %q; want apply", inv.command)
	}

	// Grace: Kubernetes must wait for juicebatch's own grace and the report.
	grace := defaultGrace
	if g, ok := inv.flags["grace"]; ok {
		d, err := time.ParseDuration(g)
		if err != nil {
			p.add("--grace=%s: %v", g, err)
		} else {
			grace = d
		}
	}
	tgps := int64(30) // Kubernetes' default
	if pod.TerminationGracePeriodSeconds != nil {
		tgps = *pod.TerminationGracePeriodSeconds
	}
	if time.Duration(tgps)*time.Second < grace+graceMargin {
		p.add("terminationGracePeriodSeconds %d is not above --grace %s plus %s to write the report", tgps, grace, graceMargin)
	}

	// --wait sleeps across UTC days: never in a CronJob, and a Job's
	// deadline must allow days.
	_, wait := inv.flags["wait"]
	ads := js.ActiveDeadlineSeconds
	switch {
	case wait && inCronJob:
		p.add("--wait in a CronJob: it would still be waiting when the next schedule comes; use a Job (deploy/migration)")
	case wait && ads != nil && *ads < 2*24*3600:
		p.add("activeDeadlineSeconds %d with --wait: a migration spans days; allow at least two", *ads)
	case !wait && (ads == nil || *ads > 24*3600):
		p.add("activeDeadlineSeconds = %s without --wait; want a deadline within a day", ptrString(ads))
	}

	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	p = append(p, checkVolumes(pod, vols, objs)...)
	p = append(p, checkSecurity(pod)...)
	for _, ct := range slices.Concat(pod.InitContainers, pod.Containers) {
		p = append(p, checkResources(ct)...)
	}

	// The files juicebatch reads and writes, in every pod of the Job.
	states, keys := map[string]string{}, map[string]string{}
	for _, inv := range invs {
		at := ""
		if inv.index != "" {
			at = " (index " + inv.index + ")"
		}
		if len(inv.positional) == 0 {
			p.add("want an input FILE (or several, or a pattern such as /input/export/*.csv.gz) after the flags%s", at)
		}
		if formats := inputFormats(inv.positional); len(formats) > 1 {
			p.add("inputs %q%s mix %s: one run reads files of one format (juicebatch exits 2)", inv.positional, at, strings.Join(formats, " and "))
		}
		for _, pos := range inv.positional {
			p = append(p, checkInput(pos, c, pod, vols, at)...)
		}
		if f, ok := inv.flags["api-key-file"]; ok {
			p = append(p, checkSecretFile(f, c, vols, objs, at)...)
			keys[f] = inv.index
		} else {
			p.add("no --api-key-file%s: in Kubernetes the key comes from a mounted Secret", at)
		}
		if f, ok := inv.flags["map"]; ok {
			p = append(p, checkMappingFile(f, c, vols, objs, at)...)
		}
		for _, flag := range []string{"state", "report"} {
			f, ok := inv.flags[flag]
			if !ok {
				p.add("no --%s%s: the default is the working directory, which is not persistent (nor writable)", flag, at)
				continue
			}
			p = append(p, checkPersistentPath(flag, f, c, vols, objs, at)...)
		}
		if s, ok := inv.flags["state"]; ok {
			if other, dup := states[s]; dup {
				p.add("indexes %s and %s share the state file %s: one key, one state file", other, inv.index, s)
			}
			states[s] = inv.index
		}
	}
	p = p.unique()
	if indexed && len(keys) != len(invs) {
		p.add("the %d indexes use %d distinct key files; want one key per index", len(invs), len(keys))
	}
	return p
}

func checkPodFailurePolicy(js batchv1.JobSpec, pod corev1.PodSpec, indexed bool) problems {
	var p problems
	pfp := js.PodFailurePolicy
	if pfp == nil || len(pfp.Rules) == 0 {
		p.add("no podFailurePolicy: juicebatch's exit codes 1-3 are answers that a retry cannot change")
		return p
	}
	first := pfp.Rules[0]
	if first.Action != batchv1.PodFailurePolicyActionIgnore || len(first.OnPodConditions) != 1 ||
		first.OnPodConditions[0].Type != corev1.DisruptionTarget {
		p.add("podFailurePolicy's first rule should Ignore the DisruptionTarget condition (eviction, drain: juicebatch exits 4 and a new pod resumes)")
	}
	fatal := false
	for i, r := range pfp.Rules {
		if r.OnExitCodes == nil {
			continue
		}
		ec := r.OnExitCodes
		if ec.ContainerName == nil || *ec.ContainerName != mainContainer {
			p.add("podFailurePolicy rule %d: containerName = %s; want %q (the init container's codes mean other things)", i, ptrString(ec.ContainerName), mainContainer)
		}
		if !slices.IsSorted(ec.Values) || len(slices.Compact(slices.Clone(ec.Values))) != len(ec.Values) {
			p.add("podFailurePolicy rule %d: values %v must be sorted and distinct", i, ec.Values)
		}
		if ec.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && slices.Contains(ec.Values, 0) {
			p.add("podFailurePolicy rule %d: In may not list 0", i)
		}
		switch r.Action {
		case batchv1.PodFailurePolicyActionFailIndex:
			if js.BackoffLimitPerIndex == nil || !indexed {
				p.add("podFailurePolicy rule %d: FailIndex needs an Indexed Job with backoffLimitPerIndex", i)
			}
			fallthrough
		case batchv1.PodFailurePolicyActionFailJob:
			if ec.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn &&
				slices.Contains(ec.Values, 1) && slices.Contains(ec.Values, 2) && slices.Contains(ec.Values, 3) {
				fatal = true
			}
		}
	}
	if !fatal {
		p.add("no podFailurePolicy rule fails the Job (or index) on juicebatch's exit codes 1, 2 and 3")
	}
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		p.add("podFailurePolicy needs restartPolicy Never")
	}
	return p
}

// varRef matches Kubernetes' $(VAR) references in args.
var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// invocations parses the container's args once per pod of the Job: once,
// or once per completion index.
func invocations(js batchv1.JobSpec, c *corev1.Container, indexed bool) ([]invocation, problems) {
	var p problems
	if len(c.Command) > 0 {
		p.add("container %q sets command %q; the image's entrypoint is juicebatch, give only args", c.Name, c.Command)
	}
	indexVar := ""
	literal := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == completionIndexPath:
			indexVar = e.Name
		case e.ValueFrom == nil:
			literal[e.Name] = e.Value
		}
	}
	indexes := []string{""}
	if indexed {
		if js.Completions == nil || *js.Completions < 1 {
			p.add("an Indexed Job needs completions")
			return nil, p
		}
		indexes = nil
		for i := range *js.Completions {
			indexes = append(indexes, strconv.Itoa(int(i)))
		}
	}
	var invs []invocation
	for _, idx := range indexes {
		expand := func(s string) string {
			return varRef.ReplaceAllStringFunc(s, func(m string) string {
				name := varRef.FindStringSubmatch(m)[1]
				if name == indexVar && indexed {
					return idx
				}
				if v, ok := literal[name]; ok {
					return v
				}
				p.add("%s refers to $(%s), which the container's env does not define (Kubernetes would pass it literally)", s, name)
				return m
			})
		}
		inv := invocation{index: idx, flags: map[string]string{}}
		for i, a := range c.Args {
			a = expand(a)
			switch {
			case i == 0:
				inv.command = a
			case strings.HasPrefix(a, "-"):
				name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
				switch {
				case slices.Contains(valueFlags, name):
					if !hasValue {
						p.add("%s: write value flags as --%s=VALUE (one arg), so this test can read them", a, name)
					}
				case slices.Contains(boolFlags, name):
					if hasValue && value != "true" && value != "false" {
						p.add("%s: a boolean flag", a)
					}
				default:
					p.add("%s: juicebatch apply has no flag --%s (it would exit 2)", a, name)
				}
				if _, dup := inv.flags[name]; dup && name != "column" {
					p.add("--%s given twice", name)
				}
				inv.flags[name] = value
			default:
				inv.positional = append(inv.positional, a)
			}
		}
		invs = append(invs, inv)
	}
	return invs, p.unique()
}

// mountFor returns the container's mount that holds the absolute path p,
// and p relative to it.
func mountFor(c *corev1.Container, p string) (*corev1.VolumeMount, string) {
	var best *corev1.VolumeMount
	for i := range c.VolumeMounts {
		m := &c.VolumeMounts[i]
		mp := strings.TrimSuffix(m.MountPath, "/")
		if strings.HasPrefix(p, mp+"/") && (best == nil || len(mp) > len(best.MountPath)) {
			best = m
		}
	}
	if best == nil {
		return nil, ""
	}
	return best, strings.TrimPrefix(p, strings.TrimSuffix(best.MountPath, "/")+"/")
}

// inputFormats lists the formats the input names say, as juicebatch reads
// them from the extension (.csv, .ndjson or .jsonl, perhaps with .gz).
func inputFormats(files []string) []string {
	var formats []string
	for _, f := range files {
		ext := path.Ext(strings.TrimSuffix(strings.ToLower(f), ".gz"))
		format := map[string]string{".csv": "CSV", ".ndjson": "NDJSON", ".jsonl": "NDJSON"}[ext]
		if format != "" && !slices.Contains(formats, format) {
			formats = append(formats, format)
		}
	}
	return formats
}

func checkInput(file string, c *corev1.Container, pod corev1.PodSpec, vols map[string]corev1.Volume, at string) problems {
	var p problems
	if file == "-" {
		p.add("input is stdin%s; a Job has none", at)
		return p
	}
	if !path.IsAbs(file) {
		p.add("input %s%s: want an absolute path on a mounted volume", file, at)
		return p
	}
	m, _ := mountFor(c, file)
	if m == nil {
		p.add("input %s%s is on no volume the container mounts", file, at)
		return p
	}
	v := vols[m.Name]
	if v.EmptyDir != nil {
		// An emptyDir starts empty: something must fill it first.
		filled := false
		for _, ic := range pod.InitContainers {
			for _, im := range ic.VolumeMounts {
				if im.Name == m.Name && !im.ReadOnly {
					filled = true
				}
			}
		}
		if !filled {
			p.add("input %s%s is on emptyDir %q, which no init container writes", file, at, m.Name)
		}
	}
	if v.Secret != nil || v.ConfigMap != nil {
		p.add("input %s%s is on a Secret or ConfigMap volume (1 MiB at most); use a volume or an init container", file, at)
	}
	// On a PersistentVolumeClaim (the migration keeps its input beside the
	// state) or another volume, the file is the operator's to provide.
	return p
}

func checkSecretFile(file string, c *corev1.Container, vols map[string]corev1.Volume, objs objects, at string) problems {
	var p problems
	m, key := mountFor(c, file)
	if m == nil {
		p.add("--api-key-file=%s%s is on no volume the container mounts", file, at)
		return p
	}
	v := vols[m.Name]
	if v.Secret == nil {
		p.add("--api-key-file=%s%s is on volume %q, which is not a Secret", file, at, m.Name)
		return p
	}
	if !m.ReadOnly {
		p.add("mount %q of the API key should be readOnly", m.Name)
	}
	s, ok := objs.secrets[v.Secret.SecretName]
	if !ok {
		p.add("--api-key-file=%s%s: Secret %q is not among the manifests", file, at, v.Secret.SecretName)
		return p
	}
	if !hasKey(key, s.Data, s.StringData, v.Secret.Items) {
		p.add("--api-key-file=%s%s: Secret %q has no key %q", file, at, s.Name, key)
	}
	return p
}

func checkMappingFile(file string, c *corev1.Container, vols map[string]corev1.Volume, objs objects, at string) problems {
	var p problems
	m, key := mountFor(c, file)
	if m == nil {
		p.add("--map=%s%s is on no volume the container mounts", file, at)
		return p
	}
	v := vols[m.Name]
	if v.ConfigMap == nil {
		// A mapping may come from elsewhere; only ConfigMaps are checked.
		return p
	}
	cm, ok := objs.configMaps[v.ConfigMap.Name]
	if !ok {
		p.add("--map=%s%s: ConfigMap %q is not among the manifests", file, at, v.ConfigMap.Name)
		return p
	}
	content, ok := cm.Data[key]
	if !ok || v.ConfigMap.Items != nil {
		p.add("--map=%s%s: ConfigMap %q has no key %q", file, at, cm.Name, key)
		return p
	}
	if err := validMapping([]byte(content)); err != nil {
		p.add("--map=%s: ConfigMap %q key %q: %v", file, cm.Name, key, err)
	}
	return p
}

// validMapping checks a mapping file: an object of "column": "field".
func validMapping(data []byte) error {
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("want a JSON object of \"column\": \"field\": %w", err)
	}
	if len(m) == 0 {
		return fmt.Errorf("empty mapping")
	}
	hasID := false
	for col, f := range m {
		if !slices.Contains(canonicalFields, f) {
			return fmt.Errorf("column %q maps to %q, which is not a field", col, f)
		}
		hasID = hasID || f == "id"
	}
	if !hasID {
		return fmt.Errorf("no column maps to id")
	}
	return nil
}

func checkPersistentPath(flag, file string, c *corev1.Container, vols map[string]corev1.Volume, objs objects, at string) problems {
	var p problems
	m, _ := mountFor(c, file)
	if m == nil {
		p.add("--%s=%s%s is on no volume the container mounts (the root filesystem is read-only)", flag, file, at)
		return p
	}
	if m.ReadOnly {
		p.add("--%s=%s%s is on read-only mount %q", flag, file, at, m.Name)
	}
	v := vols[m.Name]
	if v.PersistentVolumeClaim == nil {
		p.add("--%s=%s%s is on volume %q, which is not a PersistentVolumeClaim: the next run could not resume", flag, file, at, m.Name)
		return p
	}
	pvc, ok := objs.pvcs[v.PersistentVolumeClaim.ClaimName]
	if !ok {
		p.add("--%s=%s%s: PersistentVolumeClaim %q is not among the manifests", flag, file, at, v.PersistentVolumeClaim.ClaimName)
		return p
	}
	if v.PersistentVolumeClaim.ReadOnly {
		p.add("--%s=%s%s: claim %q is mounted read-only", flag, file, at, pvc.Name)
	}
	return p
}

func hasKey(key string, data map[string][]byte, stringData map[string]string, items []corev1.KeyToPath) bool {
	if items != nil {
		for _, it := range items {
			if it.Path == key {
				key = it.Key
				break
			}
		}
	}
	if _, ok := data[key]; ok {
		return true
	}
	_, ok := stringData[key]
	return ok
}

// checkVolumes checks that every mount names a volume and every volume's
// object exists.
func checkVolumes(pod corev1.PodSpec, vols map[string]corev1.Volume, objs objects) problems {
	var p problems
	for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
		for _, m := range c.VolumeMounts {
			if _, ok := vols[m.Name]; !ok {
				p.add("container %q mounts %q, which is not a volume of the pod", c.Name, m.Name)
			}
		}
	}
	for _, v := range pod.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			pvc, ok := objs.pvcs[v.PersistentVolumeClaim.ClaimName]
			if !ok {
				p.add("volume %q: PersistentVolumeClaim %q is not among the manifests", v.Name, v.PersistentVolumeClaim.ClaimName)
				continue
			}
			if !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteOnce) && !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteOncePod) &&
				!slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
				p.add("PersistentVolumeClaim %q: access modes %v; the state needs a writable volume", pvc.Name, pvc.Spec.AccessModes)
			}
			if _, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
				p.add("PersistentVolumeClaim %q requests no storage", pvc.Name)
			}
		case v.Secret != nil:
			if _, ok := objs.secrets[v.Secret.SecretName]; !ok && !ptrTrue(v.Secret.Optional) {
				p.add("volume %q: Secret %q is not among the manifests", v.Name, v.Secret.SecretName)
			}
			// The pod runs as a non-root user; a Secret's files belong
			// to root and the fsGroup, so the group must be able to read.
			if m := v.Secret.DefaultMode; m != nil && *m&0o040 == 0 {
				p.add("volume %q: defaultMode %#o hides the key from the non-root user; want group-readable (0440)", v.Name, *m)
			}
		case v.ConfigMap != nil:
			if _, ok := objs.configMaps[v.ConfigMap.Name]; !ok && !ptrTrue(v.ConfigMap.Optional) {
				p.add("volume %q: ConfigMap %q is not among the manifests", v.Name, v.ConfigMap.Name)
			}
		case v.EmptyDir != nil:
			if v.EmptyDir.SizeLimit == nil {
				p.add("emptyDir %q has no sizeLimit", v.Name)
			}
		}
	}
	return p
}

// checkSecurity checks that every container runs as a non-root user on a
// read-only root filesystem, with no privilege escalation or capabilities.
func checkSecurity(pod corev1.PodSpec) problems {
	var p problems
	psc := pod.SecurityContext
	podNonRoot := psc != nil && ptrTrue(psc.RunAsNonRoot)
	if psc != nil && psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		p.add("pod runAsUser 0")
	}
	for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
		sc := c.SecurityContext
		if !podNonRoot && (sc == nil || !ptrTrue(sc.RunAsNonRoot)) {
			p.add("container %q: runAsNonRoot is not true (for it or the pod)", c.Name)
		}
		if sc == nil {
			p.add("container %q has no securityContext", c.Name)
			continue
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			p.add("container %q: runAsUser 0", c.Name)
		}
		if !ptrTrue(sc.ReadOnlyRootFilesystem) {
			p.add("container %q: readOnlyRootFilesystem is not true", c.Name)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			p.add("container %q: allowPrivilegeEscalation is not false", c.Name)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			p.add("container %q: capabilities should drop ALL and add none", c.Name)
		}
	}
	return p
}

// checkResources checks a container's requests and limits, and that a
// GOMEMLIMIT stays below the memory limit.
func checkResources(c corev1.Container) problems {
	var p problems
	r := c.Resources
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := r.Requests[name]
		lim, okLim := r.Limits[name]
		if !okReq || !okLim {
			p.add("container %q: %s request and limit must both be set", c.Name, name)
			continue
		}
		if req.Cmp(lim) > 0 {
			p.add("container %q: %s request %s is above its limit %s", c.Name, name, req.String(), lim.String())
		}
	}
	for _, e := range c.Env {
		if e.Name != "GOMEMLIMIT" {
			continue
		}
		q, err := parseGoMemLimit(e.Value)
		if err != nil {
			p.add("container %q: GOMEMLIMIT=%q: %v", c.Name, e.Value, err)
			continue
		}
		if lim, ok := r.Limits[corev1.ResourceMemory]; ok && q.Cmp(lim) >= 0 {
			p.add("container %q: GOMEMLIMIT %s is not below the memory limit %s", c.Name, e.Value, lim.String())
		}
	}
	return p
}

// parseGoMemLimit reads GOMEMLIMIT's syntax (bytes, or a number with B,
// KiB, MiB, GiB or TiB) as a Kubernetes quantity.
func parseGoMemLimit(s string) (resource.Quantity, error) {
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		if n, ok := strings.CutSuffix(s, u); ok {
			return resource.ParseQuantity(n + strings.TrimSuffix(u, "B"))
		}
	}
	n := strings.TrimSuffix(s, "B")
	if _, err := strconv.ParseUint(n, 10, 64); err != nil {
		return resource.Quantity{}, fmt.Errorf("want bytes or a size such as 96MiB")
	}
	return resource.ParseQuantity(n)
}

func findContainer(cs []corev1.Container, name string) *corev1.Container {
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}

func ptrTrue(b *bool) bool { return b != nil && *b }

func ptrString[T any](v *T) string {
	if v == nil {
		return "unset"
	}
	return fmt.Sprint(*v)
}
