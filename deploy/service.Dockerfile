# One image per service, from a static binary built on the host by
# `make images` (so no Go toolchain image has to be pulled).
FROM scratch
ARG SERVICE
COPY bin/${SERVICE} /service
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=2s --timeout=3s --retries=30 CMD ["/service", "healthcheck"]
ENTRYPOINT ["/service"]
