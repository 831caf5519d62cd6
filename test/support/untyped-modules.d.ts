// npm's own libraries ship no types; the tests use them only to set up fixtures.
declare module 'libnpmpublish'
declare module 'npm-profile'
declare module 'npm-registry-fetch'
declare module 'pacote'
declare module '@npmcli/arborist'
