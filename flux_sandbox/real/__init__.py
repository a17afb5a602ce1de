"""The real engine of the sandbox: a real kube-apiserver with etcd, kube-controller-manager,
kube-scheduler and kwok (a node and the pod lifecycle without a kubelet), and the real Flux
controllers, built from pinned Go modules (:mod:`.versions`, :mod:`.build`) and run as local
processes (:mod:`.engine`)."""
