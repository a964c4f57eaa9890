package config

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Names the chart gives the playbooks configuration (ROBUSTA.md).
const (
	SecretName = "robusta-playbooks-config-secret"
	SecretKey  = "active_playbooks.yaml"
	// ReloadAnnotation on runner pods makes the runner reload (what the Python CLI did).
	ReloadAnnotation = "playbooks-last-modified"
)

// ReadSecret returns the active configuration and the Secret's resourceVersion.
func ReadSecret(ctx context.Context, cs kubernetes.Interface, namespace string) (*File, string, error) {
	f, rv, _, err := ReadSecretAnnotated(ctx, cs, namespace)
	return f, rv, err
}

// ReadSecretAnnotated is ReadSecret that also returns the Secret's annotations.
func ReadSecretAnnotated(ctx context.Context, cs kubernetes.Interface, namespace string) (*File, string, map[string]string, error) {
	s, err := cs.CoreV1().Secrets(namespace).Get(ctx, SecretName, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, "", nil, fmt.Errorf("no Secret %s in namespace %s: is Robusta installed there?", SecretName, namespace)
		}
		return nil, "", nil, err
	}
	data, ok := s.Data[SecretKey]
	if !ok {
		return nil, "", nil, fmt.Errorf("Secret %s/%s has no key %s", namespace, SecretName, SecretKey)
	}
	f, err := Parse(SecretKey, data)
	if err != nil {
		return nil, "", nil, err
	}
	return f, s.ResourceVersion, s.Annotations, nil
}

// ToActive converts a values file into active_playbooks.yaml content the way the chart
// renders it: its playbook lists in chart order, sinks, repos and global config.
func ToActive(values *File) ([]byte, error) {
	if values.Format == FormatActive {
		return yaml.Marshal(values.Doc)
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	add := func(key string, v *yaml.Node) {
		out.Content = append(out.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	}
	orEmpty := func(n *yaml.Node, kind yaml.Kind) *yaml.Node {
		if n != nil {
			return n
		}
		if kind == yaml.SequenceNode {
			return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		}
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	add("playbook_repos", orEmpty(lookup(values.Root, "playbookRepos"), yaml.MappingNode))
	add("sinks_config", orEmpty(lookup(values.Root, "sinksConfig"), yaml.SequenceNode))
	add("global_config", orEmpty(lookup(values.Root, "globalConfig"), yaml.MappingNode))
	pbs := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, pb := range values.Playbooks(true) {
		pbs.Content = append(pbs.Content, pb.Node)
	}
	add("active_playbooks", pbs)
	return yaml.Marshal(out)
}

// WriteSecret replaces the Secret's configuration in one update conditioned on
// resourceVersion (a concurrent change makes it fail with a conflict instead of being
// overwritten), after saving the previous content to backupDir. It returns the backup path.
func WriteSecret(ctx context.Context, cs kubernetes.Interface, namespace, resourceVersion string, content []byte, backupDir string) (string, error) {
	return WriteSecretWith(ctx, cs, namespace, resourceVersion, content, nil, backupDir)
}

// WriteSecretWith is WriteSecret that also sets annotations on the Secret (an empty
// value removes one).
func WriteSecretWith(ctx context.Context, cs kubernetes.Interface, namespace, resourceVersion string, content []byte, annotations map[string]string, backupDir string) (string, error) {
	cur, err := cs.CoreV1().Secrets(namespace).Get(ctx, SecretName, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if resourceVersion != "" && cur.ResourceVersion != resourceVersion {
		return "", fmt.Errorf("Secret %s/%s changed since it was read (resourceVersion %s, now %s): someone else updated it; nothing was written, run the command again", namespace, SecretName, resourceVersion, cur.ResourceVersion)
	}
	if err := os.MkdirAll(backupDir, 0o700); err != nil {
		return "", err
	}
	backup := filepath.Join(backupDir, fmt.Sprintf("%s-%s-%s.yaml", namespace, SecretName, time.Now().UTC().Format("20060102T150405Z")))
	if err := os.WriteFile(backup, cur.Data[SecretKey], 0o600); err != nil {
		return "", fmt.Errorf("back up the current config: %w", err)
	}
	upd := cur.DeepCopy()
	if upd.Data == nil {
		upd.Data = map[string][]byte{}
	}
	upd.Data[SecretKey] = content
	for k, v := range annotations {
		if v == "" {
			delete(upd.Annotations, k)
			continue
		}
		if upd.Annotations == nil {
			upd.Annotations = map[string]string{}
		}
		upd.Annotations[k] = v
	}
	if _, err := cs.CoreV1().Secrets(namespace).Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsConflict(err) {
			return backup, fmt.Errorf("Secret %s/%s was changed by someone else while writing: nothing was overwritten, run the command again", namespace, SecretName)
		}
		return backup, err
	}
	return backup, nil
}

// AnnotateRunners sets playbooks-last-modified on the runner pods so the runner reloads.
func AnnotateRunners(ctx context.Context, cs kubernetes.Interface, namespace, selector string, now time.Time) ([]string, error) {
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	patch := []byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, ReloadAnnotation, fmt.Sprint(now.Unix())))
	var names []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if _, err := cs.CoreV1().Pods(namespace).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				continue // replaced during a rollout; its successor reads the new Secret
			}
			return names, err
		}
		names = append(names, p.Name)
	}
	return names, nil
}

// ReplacedKeys are the keys of a values file that configure applies, by Helm or in the
// Secret: everything else in the running configuration is kept.
var ReplacedKeys = []string{"customPlaybooks", "playbookRepos", "sinksConfig", "namedCustomPlaybooks"}

// Annotations on the config Secret naming the playbooks configure --secret wrote (by
// fingerprint), so a later run knows which entries of active_playbooks to replace.
const (
	CustomAnnotation = "robusta.dev/custom-playbooks"
	NamedAnnotation  = "robusta.dev/named-custom-playbooks"
)

// Provenance tells which playbooks of active_playbooks came from which list, by
// fingerprint. The chart renders priorityBuiltinPlaybooks, customPlaybooks,
// builtinPlaybooks, platformPlaybooks, then namedCustomPlaybooks, into one list.
type Provenance struct {
	Priority, Custom, Named map[string]bool
}

// Known reports whether anything is known of where the playbooks came from.
func (p Provenance) Known() bool { return len(p.Priority)+len(p.Custom)+len(p.Named) > 0 }

func (p *Provenance) add(set *map[string]bool, fps ...string) {
	if *set == nil {
		*set = map[string]bool{}
	}
	for _, fp := range fps {
		if fp != "" {
			(*set)[fp] = true
		}
	}
}

// AddRecorded adds the fingerprints recorded in the Secret's annotations.
func (p *Provenance) AddRecorded(annotations map[string]string) {
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	p.add(&p.Custom, split(annotations[CustomAnnotation])...)
	p.add(&p.Named, split(annotations[NamedAnnotation])...)
}

// AddHelmValues adds what a Helm release's values say (its coalesced values).
func (p *Provenance) AddHelmValues(values map[string]any) {
	list := func(key string) []string {
		var out []string
		switch v := values[key].(type) {
		case []any:
			for _, pb := range v {
				out = append(out, Fingerprint(pb))
			}
		case map[string]any:
			for _, pb := range v {
				out = append(out, Fingerprint(pb))
			}
		}
		return out
	}
	p.add(&p.Priority, list("priorityBuiltinPlaybooks")...)
	p.add(&p.Custom, list("customPlaybooks")...)
	p.add(&p.Named, list("namedCustomPlaybooks")...)
}

// Fingerprint identifies a playbook by its content (a *yaml.Node or a decoded value):
// the same playbook rendered by the chart or written by robusta has the same one.
func Fingerprint(v any) string {
	if n, ok := v.(*yaml.Node); ok {
		var d any
		if err := n.Decode(&d); err != nil {
			return ""
		}
		v = d
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Merged is the configuration configure --secret writes.
type Merged struct {
	Doc         *yaml.Node
	Changed     []string // keys of the input file applied
	Ignored     []string // keys of the input file configure does not apply
	Annotations map[string]string
	Warnings    []string
}

// Merge applies what file holds onto the running configuration current (read from the
// Secret), keeping the rest: a values file replaces sinks_config (sinksConfig),
// playbook_repos (playbookRepos) and, inside active_playbooks, the playbooks that came
// from customPlaybooks and namedCustomPlaybooks, leaving the built-in ones, global_config
// and every other key as they are; an active_playbooks.yaml replaces the keys it holds.
// current is not changed.
func Merge(current, file *File, prov Provenance) (*Merged, error) {
	b, err := yaml.Marshal(current.Doc)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	root := doc.Content[0]
	m := &Merged{Doc: &doc}
	set := func(key string, v *yaml.Node) {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == key {
				root.Content[i+1] = v
				return
			}
		}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	}
	if file.Format == FormatActive {
		for i := 0; i+1 < len(file.Root.Content); i += 2 {
			set(file.Root.Content[i].Value, file.Root.Content[i+1])
			m.Changed = append(m.Changed, file.Root.Content[i].Value)
		}
		m.Annotations = map[string]string{CustomAnnotation: "", NamedAnnotation: ""} // its own list: no record holds
		return m, nil
	}
	for i := 0; i+1 < len(file.Root.Content); i += 2 {
		if k := file.Root.Content[i].Value; !slices.Contains(ReplacedKeys, k) {
			m.Ignored = append(m.Ignored, k)
		}
	}
	for _, k := range ReplacedKeys {
		if lookup(file.Root, k) != nil {
			m.Changed = append(m.Changed, k)
		}
	}
	if len(m.Changed) == 0 {
		return m, nil
	}
	if v := lookup(file.Root, "playbookRepos"); v != nil {
		set("playbook_repos", v)
	}
	if v := lookup(file.Root, "sinksConfig"); v != nil {
		set("sinks_config", v)
	}
	custom, named := lookup(file.Root, "customPlaybooks"), lookup(file.Root, "namedCustomPlaybooks")
	if custom == nil && named == nil {
		return m, nil
	}
	var entries []*yaml.Node
	if cur := lookup(root, "active_playbooks"); cur != nil && cur.Kind == yaml.SequenceNode {
		entries = cur.Content
	}
	if !prov.Known() && len(entries) > 0 {
		m.Warnings = append(m.Warnings, fmt.Sprintf("no Helm release and no earlier configure --secret tell which of the %d playbooks in the Secret came from customPlaybooks: all are kept, yours are added before them", len(entries)))
	}
	var out []*yaml.Node
	var customFP, namedFP []string
	insertAt := -1 // where the custom block goes: where it was, else after the priority built-ins
	for _, e := range entries {
		fp := Fingerprint(e)
		switch {
		case prov.Named[fp] && !prov.Custom[fp]:
			if named == nil {
				out = append(out, e)
				namedFP = append(namedFP, fp)
			}
		case prov.Custom[fp]:
			if insertAt < 0 {
				insertAt = len(out)
			}
			if custom == nil {
				out = append(out, e)
				customFP = append(customFP, fp)
			}
		default:
			out = append(out, e)
		}
	}
	if insertAt < 0 {
		insertAt = 0
		for i, e := range out {
			if prov.Priority[Fingerprint(e)] {
				insertAt = i + 1
			}
		}
	}
	if custom != nil {
		var add []*yaml.Node
		if custom.Kind == yaml.SequenceNode {
			add = custom.Content
		}
		for _, e := range add {
			customFP = append(customFP, Fingerprint(e))
		}
		out = slices.Insert(out, insertAt, add...)
	}
	if named != nil && named.Kind == yaml.MappingNode {
		// In key order, as the chart's range over the map renders them.
		idx := make([]int, 0, len(named.Content)/2)
		for i := 0; i+1 < len(named.Content); i += 2 {
			idx = append(idx, i)
		}
		slices.SortStableFunc(idx, func(a, b int) int { return strings.Compare(named.Content[a].Value, named.Content[b].Value) })
		for _, i := range idx {
			out = append(out, named.Content[i+1])
			namedFP = append(namedFP, Fingerprint(named.Content[i+1]))
		}
	}
	set("active_playbooks", &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: out})
	m.Annotations = map[string]string{CustomAnnotation: strings.Join(customFP, ","), NamedAnnotation: strings.Join(namedFP, ",")}
	return m, nil
}
