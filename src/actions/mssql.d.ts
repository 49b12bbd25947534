/** `mssql` ships no type declarations; sql-probes.ts declares the part it uses. */
declare module 'mssql' {
  const mssql: unknown
  export default mssql
}
