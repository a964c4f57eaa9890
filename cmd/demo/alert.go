package demo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/demo"
	"github.com/robusta-dev/robusta-go/internal/kube"
	"github.com/robusta-dev/robusta-go/internal/monitoring"
)

// AlertOptions for `robusta demo-alert`.
type AlertOptions struct {
	IO   *cli.IOStreams
	Kube func() *kube.Factory

	AlertmanagerURL string
	Namespaces      []string
	Alert           string
	Labels          string
	KubeConfig      string
	Image           string
	Pod             string
	ViaJob          bool

	labels       demo.Labels
	podNS, podNm string
}

// NewCmdDemoAlert builds `robusta demo-alert`.
func NewCmdDemoAlert(f *cmdutil.Factory, runF func(*AlertOptions) error) *cobra.Command {
	opts := &AlertOptions{IO: f.IOStreams, Kube: f.Kube}
	cmd := &cobra.Command{
		Use:   "demo-alert",
		Short: "Send a test alert about a pod to the cluster's Alertmanager",
		Long: `Send a firing test alert (default KubePodNotReady, severity critical) about a
running pod to the cluster's Alertmanager, so you can see Robusta's Prometheus alert
handling in your sinks.

The Alertmanager Service is found in any namespace by the label selectors Robusta
uses (or give --alertmanager-url) and reached through a port-forward over the API
server. With --via-job the alert is posted from inside the cluster by a Job running
curl, as the Python CLI did, for clusters where port-forward is not allowed.

The pod is --pod NS/NAME, else a running pod of robusta demo, else the first
running pod, looked for in --namespaces in order.`,
		Example: `  robusta demo-alert
  robusta demo-alert --pod default/web-1 --labels env=prod,team=infra
  robusta demo-alert --alertmanager-url http://alertmanager.monitoring.svc.cluster.local:9093
  robusta demo-alert --via-job --image curlimages/curl`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ls, err := demo.ParseLabels(opts.Labels)
			if err != nil {
				return cli.UsageErrorf("--labels: %v", err)
			}
			opts.labels = ls
			if strings.TrimSpace(opts.Alert) == "" {
				return cli.UsageErrorf("--alert must name the alert, e.g. --alert KubePodNotReady")
			}
			if opts.Pod != "" {
				ns, name, ok := strings.Cut(opts.Pod, "/")
				if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
					return cli.UsageErrorf("--pod %s: write it as NAMESPACE/NAME, e.g. --pod default/web-1", cli.Quote(opts.Pod))
				}
				opts.podNS, opts.podNm = ns, name
			} else if len(opts.Namespaces) == 0 {
				return cli.UsageErrorf("--namespaces is empty: name at least one namespace to pick the pod from, or pass --pod NS/NAME")
			}
			if opts.ViaJob && strings.TrimSpace(opts.Image) == "" {
				return cli.UsageErrorf("--image must name an image with curl for --via-job")
			}
			if opts.KubeConfig != "" {
				// The Python CLI's own name for the global --kubeconfig.
				if k := f.Settings.Kubeconfig; k != "" && k != opts.KubeConfig {
					return cli.UsageErrorf("--kube-config %s and --kubeconfig %s disagree: pass one of them", opts.KubeConfig, k)
				}
				f.Settings.Kubeconfig = opts.KubeConfig
			}
			if runF != nil {
				return runF(opts)
			}
			return runDemoAlert(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.AlertmanagerURL, "alertmanager-url", "", "Alertmanager address (default: found by its Service's labels), e.g. http://alertmanager.monitoring.svc.cluster.local:9093")
	fl.StringSliceVar(&opts.Namespaces, "namespaces", []string{"robusta", "default"}, "namespaces to pick the alert's pod from, in order (repeat the flag or separate with commas)")
	fl.StringVar(&opts.Alert, "alert", "KubePodNotReady", "name of the alert (label alertname)")
	fl.StringVar(&opts.Labels, "labels", "", "more alert labels, comma-separated name=value pairs, e.g. env=prod,team=infra")
	fl.StringVar(&opts.KubeConfig, "kube-config", "", "kubeconfig file (the Python CLI's name for --kubeconfig)")
	fl.StringVar(&opts.Image, "image", "curlimages/curl", "image with curl for the --via-job Job")
	fl.StringVar(&opts.Pod, "pod", "", "the pod the alert is about, NAMESPACE/NAME (default: a running demo pod, else any running pod in --namespaces)")
	fl.BoolVar(&opts.ViaJob, "via-job", false, "post the alert from a Job running curl in the cluster instead of through a port-forward")
	return cmd
}

func runDemoAlert(ctx context.Context, opts *AlertOptions) error {
	kf := opts.Kube()
	cs, err := kf.Clientset()
	if err != nil {
		return kf.Explain(err, "", "", "")
	}
	pod, err := alertPod(ctx, opts, kf)
	if err != nil {
		return err
	}

	url, via := opts.AlertmanagerURL, ""
	if url == "" {
		found, err := demo.FindAlertmanager(ctx, cs)
		if err != nil {
			return kf.Explain(err, "list", "services", "")
		}
		if found == nil {
			return cli.WithHint(fmt.Errorf("no Alertmanager found: no Service in any namespace has the labels tried (%s)",
				strings.Join(monitoring.Selectors(monitoring.Alertmanager), "; ")),
				"pass its address with --alertmanager-url URL, e.g. --alertmanager-url http://alertmanager.monitoring.svc.cluster.local:9093")
		}
		url = found.URL()
		via = fmt.Sprintf("service %s/%s, found by label %s", found.Namespace, found.Name, found.Selector)
	}
	alerts := demo.Alerts(opts.Alert, pod.Name, pod.Namespace, opts.labels)

	if opts.ViaJob {
		job, err := createCurlJob(ctx, opts, kf, pod.Namespace, url, alerts)
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.Out, "%s Created Job %s/%s: curl posts alert %s about pod %s/%s to %s\n",
			opts.IO.Styles().SuccessIcon(), job.Namespace, job.Name, opts.Alert, pod.Namespace, pod.Name, url)
		fmt.Fprintln(opts.IO.Out, "The Job is removed as soon as it finishes (ttlSecondsAfterFinished: 0).")
		return nil
	}

	conn := monitoring.NewConnector(kf, monitoring.URLs{Alertmanager: url})
	defer conn.Close()
	ep, err := conn.Endpoint(ctx, monitoring.Alertmanager, "")
	if err != nil {
		return fmt.Errorf("reach Alertmanager at %s: %w", url, err)
	}
	if _, err := monitoring.NewClient(ep).Do(ctx, "POST", "/api/v2/alerts", nil, alerts); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("post the alert to Alertmanager: %w", err)
	}
	if via == "" {
		via = ep.Via
	}
	fmt.Fprintf(opts.IO.Out, "%s Created Alertmanager alert: alert-name: %s pod: %s namespace: %s\n",
		opts.IO.Styles().SuccessIcon(), opts.Alert, pod.Name, pod.Namespace)
	fmt.Fprintf(opts.IO.Out, "  sent to %s (%s)\n", url, via)
	return nil
}

func alertPod(ctx context.Context, opts *AlertOptions, kf *kube.Factory) (*corev1.Pod, error) {
	cs, err := kf.Clientset()
	if err != nil {
		return nil, err
	}
	if opts.podNm != "" {
		p, err := cs.CoreV1().Pods(opts.podNS).Get(ctx, opts.podNm, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, cli.WithHint(fmt.Errorf("pod %s/%s not found", opts.podNS, opts.podNm),
				"pass an existing pod with --pod NAMESPACE/NAME")
		}
		if err != nil {
			return nil, kf.Explain(err, "get", "pods", opts.podNS)
		}
		return p, nil
	}
	p, err := demo.PickPod(ctx, cs, opts.Namespaces)
	var np *demo.NoPodError
	if errors.As(err, &np) {
		return nil, cli.WithHint(np, "name other namespaces with --namespaces NS1,NS2, pass --pod NAMESPACE/NAME, or deploy the demo with robusta demo")
	}
	if err != nil {
		return nil, kf.Explain(err, "list", "pods", "")
	}
	return p, nil
}

func createCurlJob(ctx context.Context, opts *AlertOptions, kf *kube.Factory, ns, url string, alerts []demo.Alert) (*jobRef, error) {
	cs, err := kf.Clientset()
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		// The Python CLI's name: alert-job-<0..10000>; a clash picks another number.
		n, err := rand.Int(rand.Reader, big.NewInt(10001))
		if err != nil {
			return nil, err
		}
		job, err := demo.CurlJob(fmt.Sprintf("alert-job-%d", n.Int64()), ns, opts.Image, url, alerts)
		if err != nil {
			return nil, err
		}
		created, err := cs.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) && attempt < 5 {
			continue
		}
		if err != nil {
			return nil, kf.Explain(err, "create", "jobs", ns)
		}
		return &jobRef{Namespace: created.Namespace, Name: created.Name}, nil
	}
}

type jobRef struct{ Namespace, Name string }
