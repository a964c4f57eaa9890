package auth

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/robusta-dev/robusta-go/internal/backend"
)

func TestRunnerEnvFromSpec(t *testing.T) {
	ref := func(kind, name, key string) *corev1.EnvVarSource {
		if kind == "secret" {
			return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}}
		}
		if kind == "cm" {
			return &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}}
		}
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ns"}, Spec: corev1.PodSpec{Containers: []corev1.Container{
		{Name: "other", Env: []corev1.EnvVar{{Name: "LIT", Value: "wrong container"}}},
		{Name: "runner", Env: []corev1.EnvVar{
			{Name: "LIT", Value: "first"}, {Name: "LIT", Value: "literal"},
			{Name: "SEC", ValueFrom: ref("secret", "keys", "signing")},
			{Name: "CM", ValueFrom: ref("cm", "conf", "k")},
			{Name: "FIELD", ValueFrom: ref("field", "", "")},
		}},
	}}}
	cs := fake.NewSimpleClientset(pod,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "keys", Namespace: "ns"}, Data: map[string][]byte{"signing": []byte("from-secret")}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "conf", Namespace: "ns"}, Data: map[string]string{"k": "from-cm"}})
	for name, want := range map[string]string{"LIT": "literal", "SEC": "from-secret", "CM": "from-cm"} {
		if got, err := RunnerEnv(context.Background(), cs, "ns", "r", name); err != nil || got != want {
			t.Errorf("%s: %q %v", name, got, err)
		}
	}
	for _, name := range []string{"FIELD", "ABSENT"} {
		if _, err := RunnerEnv(context.Background(), cs, "ns", "r", name); !errors.Is(err, errNotInSpec) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCreateKeySecretKeepsARacingPair(t *testing.T) {
	theirs, _ := backend.GenerateKeyPair()
	cs := fake.NewSimpleClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: backend.AuthSecretName, Namespace: "ns"},
		Data: map[string][]byte{"prv": theirs.Private, "pub": theirs.Public}})
	kp, err := CreateKeySecret(context.Background(), cs, "ns", backend.AuthSecretName)
	if err != nil || string(kp.Public) != string(theirs.Public) {
		t.Fatalf("%v: the existing pair was not kept", err)
	}
}
