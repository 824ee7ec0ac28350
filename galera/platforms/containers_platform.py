"""The platform of a container sandbox: the sandbox's platform, plus images and pods.

Like the Kubernetes platform it can run another image: ``upgrade --image`` records the image
as the StatefulSet's (``set_image``: no container changes yet, as with ``OnDelete``), and each
rolling step brings its member back as a new container of that image on the same volume (a
deleted pod). A member whose container already runs the image is started in place, as in the
process sandbox. A container's id is its incarnation, so a resumed step never replaces one
twice.
"""

from __future__ import annotations

from galera import fence
from galera.config.clusterfile import ClusterSpec
from galera.domain import events
from galera.domain.events import Kind
from galera.errors import InvalidInput
from galera.platforms import docker
from galera.platforms.base import Emit
from galera.platforms.containers import ContainerSandbox
from galera.platforms.local import SandboxPlatform


class ContainerPlatform(SandboxPlatform):
    """A container sandbox's members: pods of a StatefulSet, run by Docker."""

    kind = "containers"
    step_downtime = 30.0  # a replaced container: the agent's start and an IST

    def _sandbox(self) -> ContainerSandbox:
        return ContainerSandbox.load(self.path.parent)

    def check_rollout(self, options: dict[str, str], image: str | None) -> None:
        super().check_rollout(options, None)
        if image and not docker.image_exists(image):
            raise InvalidInput(
                f"image {image} is not here (a container sandbox pulls nothing)",
                hint="build or tag it first, e.g. TAG=next scripts/build-images --local-base",
            )

    def set_image(self, image: str, emit: Emit, check_only: bool = False) -> list[str]:
        self.check_rollout({}, image)
        sandbox = self._sandbox()
        if check_only or sandbox.state["image"] == image:
            return []
        fence.before_change()  # only while this process holds the lease
        sandbox.state["image"] = image
        sandbox.save()
        emit(events.of(Kind.IMAGE_PATCHED, statefulset=sandbox.state["cluster_name"], image=image))
        return [str(sandbox.state["cluster_name"])]

    def incarnation(self, name: str) -> str | None:
        info = docker.inspect("container", self._sandbox().member(name).container)
        return None if info is None else str(info["Id"])

    def bring_back(
        self, name: str, emit: Emit, timeout: float, previous: str | None = None
    ) -> ClusterSpec:
        """A member whose container runs another image than the sandbox's gets a new
        container of it (never twice: with ``previous``, only if it is still that one);
        otherwise it is started as in the process sandbox."""
        sandbox = self._sandbox()
        member = sandbox.member(name)
        info = docker.inspect("container", member.container)
        current = None if info is None else str(info["Id"])
        running = None if info is None else str(info["Config"]["Image"])
        if running == sandbox.state["image"] or (previous and current != previous):
            return super().bring_back(name, emit, timeout, previous)
        fence.before_change(name)
        sandbox.replace(name)
        emit(
            events.of(
                Kind.STARTED,
                member=name,
                reason=f"its container was replaced by one of {sandbox.state['image']}",
                mode="join",
            )
        )
        return self.spec()
