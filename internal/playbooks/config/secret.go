package config

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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
	s, err := cs.CoreV1().Secrets(namespace).Get(ctx, SecretName, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, "", fmt.Errorf("no Secret %s in namespace %s: is Robusta installed there?", SecretName, namespace)
		}
		return nil, "", err
	}
	data, ok := s.Data[SecretKey]
	if !ok {
		return nil, "", fmt.Errorf("Secret %s/%s has no key %s", namespace, SecretName, SecretKey)
	}
	f, err := Parse(SecretKey, data)
	if err != nil {
		return nil, "", err
	}
	return f, s.ResourceVersion, nil
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
