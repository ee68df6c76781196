/*
Copyright 2026.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package main

import (
	"bufio"
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/burner-operator/burner-operator/test/consumer"
)

// watchPod runs a pod that mounts the session's token Secret and prints the expiry it reads every 500 ms, and
// reports each new expiry the pod reads. It returns once the pod read a refreshed token when stopAtRefresh is set,
// or when ctx ends.
func watchPod(ctx context.Context, cs kubernetes.Interface, stopAtRefresh bool) (bool, error) {
	pod := consumer.Pod(demoNS, "reader", session)
	// The namespace is new: pods are refused until the controller-manager has given it its default ServiceAccount.
	for {
		_, err := cs.CoreV1().Pods(demoNS).Create(ctx, pod, metav1.CreateOptions{})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return false, err
		}
		time.Sleep(500 * time.Millisecond)
	}
	say("Pod/%s mounts Secret/%s at %s and prints its expiresAt every 500 ms", pod.Name, session, consumer.MountPath)
	go reportSecret(ctx, cs)
	seen := 0
	var last string
	for ctx.Err() == nil {
		// The log stream opens once the container runs, and ends if the pod's log rotates: open it again.
		stream, err := cs.CoreV1().Pods(demoNS).GetLogs(pod.Name, &corev1.PodLogOptions{Follow: true}).Stream(ctx)
		if err != nil {
			time.Sleep(time.Second)
			continue
		}
		sc := bufio.NewScanner(stream)
		for sc.Scan() {
			expiresAt := sc.Text()
			if expiresAt == last || expiresAt == "" {
				continue
			}
			last = expiresAt
			seen++
			what := "the pod reads its first token"
			if seen > 1 {
				what = "the pod reads a refreshed token"
			}
			say("%s from its mount: expiresAt %s (%s left)", what, expiresAt, untilRFC3339(expiresAt))
			if seen > 1 && stopAtRefresh {
				_ = stream.Close()
				return true, nil
			}
		}
		_ = stream.Close()
	}
	return seen > 1, ctx.Err()
}

// reportSecret prints each new expiresAt of the token Secret, so that the pod's lag behind it shows.
func reportSecret(ctx context.Context, cs kubernetes.Interface) {
	var last string
	for ctx.Err() == nil {
		s, err := cs.CoreV1().Secrets(demoNS).Get(ctx, session, metav1.GetOptions{})
		if err == nil && string(s.Data["expiresAt"]) != last {
			if last != "" {
				say("refresh: Secret/%s now holds a token valid until %s; the kubelet updates the pod's copy "+
					"within about 90 s", session, s.Data["expiresAt"])
			}
			last = string(s.Data["expiresAt"])
		}
		time.Sleep(time.Second)
	}
}
