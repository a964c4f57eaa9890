package sandbox

import (
	"context"
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/release"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// HelmConfig returns a Helm action configuration for namespace (Secret storage).
func (c *Cluster) HelmConfig(namespace string) (*action.Configuration, error) {
	kc, ns := c.KubeconfigPath, namespace
	flags := &genericclioptions.ConfigFlags{KubeConfig: &kc, Namespace: &ns}
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, namespace, "secret", func(string, ...any) {}); err != nil {
		return nil, fmt.Errorf("helm init: %w", err)
	}
	return cfg, nil
}

// HelmInstall installs the chart in chartDir as release name in namespace, with values.
func (c *Cluster) HelmInstall(ctx context.Context, name, namespace, chartDir string, values map[string]any) (*release.Release, error) {
	if err := c.EnsureNamespace(ctx, namespace); err != nil {
		return nil, err
	}
	ch, err := loader.Load(chartDir)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", chartDir, err)
	}
	cfg, err := c.HelmConfig(namespace)
	if err != nil {
		return nil, err
	}
	in := action.NewInstall(cfg)
	in.ReleaseName, in.Namespace, in.Timeout = name, namespace, time.Minute
	rel, err := in.RunWithContext(ctx, ch, values)
	if err != nil {
		return nil, fmt.Errorf("helm install %s: %w", name, err)
	}
	return rel, nil
}

// HelmUpgrade upgrades release name with the chart in chartDir and values.
func (c *Cluster) HelmUpgrade(ctx context.Context, name, namespace, chartDir string, values map[string]any) (*release.Release, error) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return nil, err
	}
	cfg, err := c.HelmConfig(namespace)
	if err != nil {
		return nil, err
	}
	up := action.NewUpgrade(cfg)
	up.Namespace, up.Timeout = namespace, time.Minute
	return up.RunWithContext(ctx, name, ch, values)
}

// HelmUninstall removes a release.
func (c *Cluster) HelmUninstall(name, namespace string) error {
	cfg, err := c.HelmConfig(namespace)
	if err != nil {
		return err
	}
	_, err = action.NewUninstall(cfg).Run(name)
	return err
}

// WireRunner waits for the ready pod of a runner Deployment created elsewhere (by a
// chart) and wires its port-forward, exec and logs as spec says.
func (c *Cluster) WireRunner(ctx context.Context, namespace, deployment string, spec RunnerSpec) (*Runner, error) {
	if err := c.EnsureNode(ctx, FakeNodeName); err != nil {
		return nil, err
	}
	pod, err := c.waitPod(ctx, namespace, "app="+deployment, true)
	if err != nil {
		return nil, err
	}
	if err := c.WirePod(ctx, namespace, pod, "runner", spec.ForwardTo, spec.ExecDir, spec.LogFile, spec.PreviousLogFile); err != nil {
		return nil, err
	}
	if spec.ExecDir != "" {
		if err := c.waitExec(ctx, namespace, pod); err != nil {
			return nil, err
		}
	}
	return &Runner{Namespace: namespace, Deployment: deployment, Pod: pod}, nil
}
