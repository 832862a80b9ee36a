<%--
  A large response: n ASCII bytes, byte i = 'a' + (i * 7) % 26, so a lost or reordered byte shows.
--%><%@ page contentType="application/octet-stream; charset=ISO-8859-1" session="false" buffer="64kb" %><%
int n = Integer.parseInt(request.getParameter("n"));
char[] line = new char[8192];
for (int i = 0; i < n; i += line.length) {
  int len = Math.min(line.length, n - i);
  for (int j = 0; j < len; j++) line[j] = (char) ('a' + ((i + j) * 7L) % 26);
  out.write(line, 0, len);
}
%>