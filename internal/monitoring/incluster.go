package monitoring

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"
)

// InClusterURL is the address of s as a pod inside the cluster reaches it, found as
// the runner's find_service_url finds it: the first Service matching the runner's
// selectors, http://NAME.NAMESPACE.svc.cluster.local:PORT of its first port. It is
// for helper Jobs (KRR) that talk to Prometheus themselves; nothing is forwarded. No
// match is a NotFoundError with the hint to pass a URL.
func InClusterURL(ctx context.Context, cs kubernetes.Interface, s Service) (string, error) {
	t, err := discover(ctx, cs, s)
	if err != nil {
		return "", err
	}
	if t == nil {
		return "", notFound(s)
	}
	return fmt.Sprintf("http://%s.%s.svc.cluster.local:%d", t.Name, t.Namespace, t.Port.Port), nil
}
