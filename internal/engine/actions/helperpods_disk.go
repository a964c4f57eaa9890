package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/helperpod"
)

func init() {
	engine.Register(&engine.Action{Name: "node_disk_analyzer", Event: "NodeEvent", RunsCommands: true,
		Doc:       "Show the node's disk use and which pods (and containers) use it, from a disk-tools pod with the host's root mounted (with --apply; dry run shows the pod)",
		NewParams: func() any { return &diskAnalyzerParams{} }, Do: nodeDiskAnalyzer})
}

// diskToolsImage is the runner's DISK_TOOLS_IMAGE default, under IMAGE_REGISTRY.
const diskToolsImage = "disk-tools:1.8"

type diskAnalyzerParams struct {
	CustomAnnotations map[string]string `param:"custom_annotations" doc:"annotations for the helper pod"`
	ShowPods          bool              `param:"show_pods" default:"true" doc:"a table of the pods' disk use"`
	ShowContainers    bool              `param:"show_containers" doc:"a table of the containers' disk use"`
}

// diskInfo is what disk-tools prints: the disk's totals and each pod's containers.
type diskInfo struct {
	DiskStats struct {
		Used  float64 `json:"used"`
		Total float64 `json:"total"`
	} `json:"disk_stats"`
	PodsDiskInfo struct {
		PodsDistribution []struct {
			PodUID     string `json:"pod_uid"`
			Containers []struct {
				ContainerID string  `json:"container_id"`
				DiskSize    float64 `json:"disk_size"`
			} `json:"containers"`
		} `json:"pods_distribution"`
		Warnings []string `json:"warnings"`
	} `json:"pods_disk_info"`
}

var containerIDTail = regexp.MustCompile(`.*//(.*)$`)

func nodeDiskAnalyzer(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*diskAnalyzerParams)
	node := r.Event.Obj.GetName()
	// disk-tools reads its own pod's uid from the downward API to leave itself out.
	env := []corev1.EnvVar{{Name: "CURRENT_POD_UID", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.uid"}}}}
	pod := helperpod.DebuggerPodWith(ctx, node, node, helperpod.Image(ctx, diskToolsImage), env, true, params.CustomAnnotations)
	if !r.Apply {
		return dryRunHelper(r, pod, "waits until it has finished, reads the JSON it prints")
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return r.KF.Explain(err, "list", "pods", "")
	}
	uidName, uidNS, containerName := map[string]string{}, map[string]string{}, map[string]string{}
	for _, p := range pods.Items {
		uidName[string(p.UID)], uidNS[string(p.UID)] = p.Name, p.Namespace
		// Static pods are known to the node by their config hash.
		if h, ok := p.Annotations["kubernetes.io/config.hash"]; ok {
			uidName[h], uidNS[h] = p.Name, p.Namespace
		}
		for _, st := range p.Status.ContainerStatuses {
			if m := containerIDTail.FindStringSubmatch(st.ContainerID); m != nil {
				containerName[m[1]] = st.Name
			}
		}
	}
	out, err := helperpod.RunPod(ctx, r.KF, pod)
	if err != nil {
		return err
	}
	var info diskInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		return fmt.Errorf("disk-tools printed no JSON (%v): %q", err, truncate(out, 200))
	}
	if info.DiskStats.Total == 0 {
		return fmt.Errorf("disk-tools reported a total disk size of 0: %q", truncate(out, 200))
	}
	var podsTotal float64
	for _, pd := range info.PodsDiskInfo.PodsDistribution {
		for _, c := range pd.Containers {
			podsTotal += c.DiskSize
		}
	}
	used, total := info.DiskStats.Used, info.DiskStats.Total
	blocks := []engine.Block{engine.Markdown(fmt.Sprintf("Disk analysis for node %s follows.\n"+
		"The used disk space is currently at %s out of %s (%s%%).\n"+
		"Of this space, %s is used by pods and the rest (%s) is consumed by the node.",
		node, naturalSize(used), naturalSize(total), pyRound2(used/total*100), naturalSize(podsTotal), naturalSize(used-podsTotal)))}
	orDefault := func(m map[string]string, k, def string) string {
		if v, ok := m[k]; ok {
			return v
		}
		return def
	}
	if params.ShowPods {
		type row struct {
			ns, name string
			size     float64
		}
		var rows []row
		for _, pd := range info.PodsDiskInfo.PodsDistribution {
			var sum float64
			for _, c := range pd.Containers {
				sum += c.DiskSize
			}
			rows = append(rows, row{orDefault(uidNS, pd.PodUID, ""), orDefault(uidName, pd.PodUID, pd.PodUID), sum})
		}
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].size > rows[j].size })
		table := make([][]string, len(rows))
		for i, x := range rows {
			table[i] = []string{x.ns, x.name, naturalSize(x.size)}
		}
		blocks = append(blocks, engine.Table("", []string{"pod_namespace", "pod_name", "disk_space"}, table))
	}
	if params.ShowContainers {
		type row struct {
			ns, name, container string
			size                float64
		}
		var rows []row
		for _, pd := range info.PodsDiskInfo.PodsDistribution {
			for _, c := range pd.Containers {
				rows = append(rows, row{orDefault(uidNS, pd.PodUID, ""), orDefault(uidName, pd.PodUID, pd.PodUID),
					orDefault(containerName, c.ContainerID, c.ContainerID), c.DiskSize})
			}
		}
		sort.SliceStable(rows, func(i, j int) bool {
			if rows[i].ns != rows[j].ns {
				return rows[i].ns < rows[j].ns
			}
			if rows[i].name != rows[j].name {
				return rows[i].name < rows[j].name
			}
			return rows[i].size > rows[j].size
		})
		table := make([][]string, len(rows))
		for i, x := range rows {
			table[i] = []string{x.ns, x.name, x.container, naturalSize(x.size)}
		}
		blocks = append(blocks, engine.Table("", []string{"pod_namespace", "pod_name", "container_name", "disk_space"}, table))
	}
	if w := info.PodsDiskInfo.Warnings; len(w) > 0 {
		blocks = append(blocks, engine.Markdown("Encountered the following warnings while trying to get disk information of some containers:\n"+strings.Join(w, "\n")+"\n"))
	}
	r.Finding.AddEnrichment("", blocks...)
	return nil
}

// naturalSize is Python humanize's naturalsize(n, binary=True): "1 Byte", "512
// Bytes", then one decimal and KiB, MiB, ...
func naturalSize(n float64) string {
	abs := math.Abs(n)
	switch {
	case abs == 1:
		return fmt.Sprintf("%d Byte", int64(n))
	case abs < 1024:
		return fmt.Sprintf("%d Bytes", int64(n))
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"}
	for i, u := range units {
		unit := math.Pow(1024, float64(i+2))
		if abs < unit {
			return fmt.Sprintf("%.1f %s", 1024*n/unit, u)
		}
	}
	return fmt.Sprintf("%.1f %s", 1024*n/math.Pow(1024, float64(len(units)+1)), units[len(units)-1])
}

// pyRound2 prints round(x, 2) as Python prints a float (50.0, 45.67).
func pyRound2(x float64) string {
	s := strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
